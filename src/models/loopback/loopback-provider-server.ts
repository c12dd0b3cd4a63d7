import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { anthropicWire } from "./anthropic-wire.ts";
import { googleWire } from "./google-wire.ts";
import type { LoopbackErrorKind, LoopbackTurn, WireProtocol } from "./loopback-turn.ts";
import { openaiWire } from "./openai-wire.ts";

/** What the server does with one request. */
export type LoopbackStep =
  | { reply: LoopbackTurn; delayMs?: number; chunkDelayMs?: number }
  | { status: number; error: LoopbackErrorKind; message?: string; retryAfter?: string }
  /** Accept the request and never answer: the caller's timeout must end it. */
  | { hang: true }
  /** Drop the connection without a response. */
  | { reset: true }
  /** 200 with a body (or a stream chunk) that is not JSON. */
  | { malformed: true }
  /** Stream `afterFrames` frames of the reply, then drop the connection. */
  | { cut: LoopbackTurn; afterFrames: number }
  /** Stream `afterFrames` frames, then the vendor's in-stream error event. */
  | { streamError: LoopbackTurn; afterFrames: number };

export type RecordedRequest = {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: Record<string, unknown>;
};

/** A loopback HTTP server speaking one provider's real wire protocol, scripted step by step. */
export type LoopbackProvider = {
  /** Base URL to hand the adapter (includes the vendor's version prefix). */
  readonly baseUrl: string;
  readonly wire: WireProtocol;
  /** Requests received, in order. */
  readonly requests: RecordedRequest[];
  /** Queue steps; when the queue is empty the default step answers. */
  push(...steps: LoopbackStep[]): void;
  setDefault(step: LoopbackStep | ((request: RecordedRequest) => LoopbackStep)): void;
  close(): Promise<void>;
};

const WIRES = { anthropic: anthropicWire, openai: openaiWire, google: googleWire } as const;
const PREFIX = { anthropic: "/v1", openai: "/v1", google: "/v1beta" } as const;

/** Start a loopback server on 127.0.0.1 on a free port. `record: false` keeps no request log (benchmarks). */
export async function startLoopbackProvider(options: {
  wire: keyof typeof WIRES;
  record?: boolean;
  defaultStep?: LoopbackStep;
}): Promise<LoopbackProvider> {
  const wire = WIRES[options.wire];
  const record = options.record ?? true;
  const queue: LoopbackStep[] = [];
  let fallback: LoopbackStep | ((request: RecordedRequest) => LoopbackStep) = options.defaultStep ?? {
    reply: { text: "Hello from the loopback server.", usage: { input: 12, output: 7 } },
  };
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const hanging = new Set<ServerResponse>();

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      let body: Record<string, unknown> = {};
      try {
        body =
          chunks.length > 0
            ? (JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>)
            : {};
      } catch {
        body = {};
      }
      const recorded = {
        method: request.method ?? "GET",
        path: request.url ?? "/",
        headers: request.headers,
        body,
      };
      if (record) requests.push(recorded);
      const step = queue.shift() ?? (typeof fallback === "function" ? fallback(recorded) : fallback);
      void answer(step, recorded, request, response);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  async function answer(
    step: LoopbackStep,
    recorded: RecordedRequest,
    request: IncomingMessage,
    response: ServerResponse,
  ) {
    const stream = wire.isStream(recorded.path, recorded.body);
    const model = wire.modelOf(recorded.path, recorded.body);
    if ("hang" in step) {
      hanging.add(response);
      response.on("close", () => hanging.delete(response));
      return;
    }
    if ("reset" in step) {
      request.socket.destroy();
      return;
    }
    if ("status" in step) {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (step.retryAfter !== undefined) headers["retry-after"] = step.retryAfter;
      response.writeHead(step.status, headers);
      response.end(
        JSON.stringify(wire.errorBody(step.error, step.status, step.message ?? defaultMessage(step.error))),
      );
      return;
    }
    if ("malformed" in step) {
      if (stream) {
        response.writeHead(200, { "content-type": "text/event-stream" });
        response.end('data: {"this is not": json\n\n');
      } else {
        response.writeHead(200, { "content-type": "application/json" });
        response.end('{"id": "truncated');
      }
      return;
    }
    if ("cut" in step || "streamError" in step) {
      const turn = "cut" in step ? step.cut : step.streamError;
      const frames = wire.sse(turn, model).slice(0, step.afterFrames);
      response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      for (const frame of frames) response.write(frame);
      if ("cut" in step) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        request.socket.destroy();
      } else {
        response.end(wire.streamErrorFrame("Overloaded"));
      }
      return;
    }
    if (step.delayMs) await new Promise((resolve) => setTimeout(resolve, step.delayMs));
    if (!stream) {
      const body = JSON.stringify(wire.json(step.reply, model));
      response.writeHead(200, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
      });
      response.end(body);
      return;
    }
    response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const frames = wire.sse(step.reply, model);
    if (!step.chunkDelayMs) {
      response.end(frames.join(""));
      return;
    }
    for (const frame of frames) {
      response.write(frame);
      await new Promise((resolve) => setTimeout(resolve, step.chunkDelayMs));
    }
    response.end();
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}${PREFIX[options.wire]}`,
    wire,
    requests,
    push: (...steps) => queue.push(...steps),
    setDefault: (step) => {
      fallback = step;
    },
    async close() {
      for (const response of hanging) response.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function defaultMessage(kind: LoopbackErrorKind): string {
  switch (kind) {
    case "rate_limited":
      return "Rate limit exceeded: too many requests";
    case "overloaded":
      return "Overloaded";
    case "server":
      return "Internal server error";
    case "context_too_long":
      return "prompt is too long: 210000 tokens > 200000 maximum (context_length_exceeded)";
    case "refused":
      return "Your request was rejected as a result of our safety system (content policy)";
    case "auth":
      return "invalid x-api-key";
    case "invalid":
      return "invalid request";
    default: {
      const unreachable: never = kind;
      return unreachable;
    }
  }
}
