import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import protobuf from "protobufjs";

/** A span as decoded from the wire, with ids in hex and attributes as plain values. */
export type DecodedSpan = {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, unknown>;
  status: { code: number; message: string };
  resource: Record<string, unknown>;
  scope: string;
};

export type OtlpReceiver = {
  /** The OTLP/HTTP traces URL to export to. */
  url: string;
  spans: DecodedSpan[];
  requests: { contentType: string | undefined; spans: number }[];
  /** Answer every request with this HTTP status (503 to simulate an outage), or hold it open with "hang". */
  behave(mode: "ok" | 503 | "hang"): void;
  close(): Promise<void>;
};

const root = protobuf.parse(
  readFileSync(new URL("../../src/telemetry/__fixtures__/otlp-trace.proto", import.meta.url), "utf8"),
).root;
const ExportRequest = root.lookupType("otlp.ExportTraceServiceRequest");

/**
 * A loopback OTLP/HTTP receiver that decodes requests with protobufjs against the protocol's .proto definitions,
 * independently of the OpenTelemetry exporter's generated code.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: DecodedSpan[] = [];
  const requests: OtlpReceiver["requests"] = [];
  let mode: "ok" | 503 | "hang" = "ok";
  const hanging: (() => void)[] = [];
  const server = createServer(async (request, response) => {
    const body = await readBody(request);
    if (mode === "hang") {
      hanging.push(() => response.destroy());
      return;
    }
    if (mode === 503) {
      response.writeHead(503).end();
      return;
    }
    const decoded = decodeRequest(body);
    requests.push({ contentType: request.headers["content-type"], spans: decoded.length });
    spans.push(...decoded);
    response.writeHead(200, { "content-type": "application/x-protobuf" }).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    requests,
    behave(next) {
      mode = next;
      if (next !== "hang") for (const release of hanging.splice(0)) release();
    },
    async close() {
      for (const release of hanging.splice(0)) release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

type Wire = {
  resourceSpans?: {
    resource?: { attributes?: WireKeyValue[] };
    scopeSpans?: {
      scope?: { name?: string };
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind?: number;
        startTimeUnixNano: string;
        endTimeUnixNano: string;
        attributes?: WireKeyValue[];
        status?: { code?: number; message?: string };
      }[];
    }[];
  }[];
};
type WireKeyValue = { key: string; value?: WireAny };
type WireAny = {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values?: WireAny[] };
};

/** Decode one ExportTraceServiceRequest body into spans. */
export function decodeRequest(body: Uint8Array): DecodedSpan[] {
  // toObject without defaults leaves unset fields absent, so a oneof reads as the one field the sender set.
  const message = ExportRequest.toObject(ExportRequest.decode(body), {
    longs: String,
    bytes: String,
    defaults: false,
  }) as Wire;
  const out: DecodedSpan[] = [];
  for (const resourceSpans of message.resourceSpans ?? []) {
    const resource = attributesOf(resourceSpans.resource?.attributes);
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) {
        out.push({
          traceId: hex(span.traceId),
          spanId: hex(span.spanId),
          parentSpanId: span.parentSpanId ? hex(span.parentSpanId) : "",
          name: span.name,
          kind: span.kind ?? 0,
          startNs: BigInt(span.startTimeUnixNano),
          endNs: BigInt(span.endTimeUnixNano),
          attributes: attributesOf(span.attributes),
          status: { code: span.status?.code ?? 0, message: span.status?.message ?? "" },
          resource,
          scope: scopeSpans.scope?.name ?? "",
        });
      }
    }
  }
  return out;
}

function hex(base64: string): string {
  return Buffer.from(base64, "base64").toString("hex");
}

function attributesOf(list: WireKeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) out[key] = decodeValue(value);
  return out;
}

function decodeValue(value: WireAny | undefined): unknown {
  if (!value) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(decodeValue);
  return undefined;
}
