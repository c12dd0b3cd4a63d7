import type { Context, MiddlewareHandler } from "hono";
import { KeelError } from "../errors/index.ts";
import { isJsonMediaType, jsonProblem, MAX_JSON_DEPTH } from "./input-rules.ts";

declare module "hono" {
  interface ContextVariableMap {
    /** The body this layer read and checked, as text and as the JSON it parsed to; absent when there was none. */
    checkedBody: { text: string; value: unknown };
  }
}

/** The largest body a route reads unless its declaration says otherwise. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** How long a body may take to arrive once its headers have, unless the server says otherwise. */
export const DEFAULT_BODY_READ_TIMEOUT_MS = 30_000;

/**
 * The second half of the input layer, behind the authorization gate, so only a caller the gate let through costs a
 * read. The body must arrive within the route's size (413, the route's `maxBodyBytes`) and within
 * `readTimeoutMs` (408: a client trickling bytes cannot hold a handler), as UTF-8 (400), of exactly the media type
 * `application/json` (415: a browser sends `text/plain` across origins without asking first), as JSON that parses,
 * nests no deeper than MAX_JSON_DEPTH and holds no NUL, unpaired surrogate or number too large for JSON in any
 * string, key or value (400 naming the field). Handlers read the same text again, already checked. An empty body is
 * no body: routes that need one say so themselves.
 */
export function validateJsonBody(
  options: { readTimeoutMs?: number; maxDepth?: number } = {},
): MiddlewareHandler {
  const readTimeoutMs = options.readTimeoutMs ?? DEFAULT_BODY_READ_TIMEOUT_MS;
  const maxDepth = options.maxDepth ?? MAX_JSON_DEPTH;
  return async (context, next) => {
    const { method } = context.req;
    if (method === "GET" || method === "HEAD") return await next();
    // A declared length says there is a body without touching `raw.body`, which on Node's server would build the
    // web stream the read of a declared length does without.
    if (context.req.header("content-length") === undefined && context.req.raw.body === null)
      return await next();
    const maxBytes = context.get("route")?.route.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    const text = await readBody(context, { maxBytes, timeoutMs: readTimeoutMs });
    if (text === "") return await next();
    const type = context.req.header("content-type");
    if (!isJsonMediaType(type)) {
      throw new KeelError(
        "unsupported_media_type",
        `send the body as content-type: application/json${type === undefined ? "" : `, not ${type}`}`,
        { issues: [{ path: "content-type", message: "expected application/json" }] },
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new KeelError("invalid_request", "the body is not valid JSON", {
        issues: [{ path: "(body)", message: "expected JSON" }],
      });
    }
    const problem = jsonProblem(body, maxDepth);
    if (problem) {
      throw new KeelError("invalid_request", `invalid body: ${problem.path}: ${problem.message}`, {
        issues: [problem],
      });
    }
    context.set("checkedBody", { text, value: body });
    return await next();
  };
}

/**
 * Read the whole body as UTF-8 within a size and a deadline, and leave the text where the handler's reads find it
 * (Hono's body cache; the stream is spent). A declared length over the limit is refused before a byte is read; a
 * body of declared length is read in one piece, which the HTTP parser stops at that length (on Node's server,
 * straight from the socket's buffers), and one without is counted as it streams in. Past the deadline the read is
 * abandoned, not cancelled: the 408 goes out first, then the HTTP server drains or closes the connection.
 */
async function readBody(context: Context, limits: { maxBytes: number; timeoutMs: number }): Promise<string> {
  const { maxBytes, timeoutMs } = limits;
  const declared = context.req.header("content-length");
  if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new KeelError("request_timeout", `the body did not arrive within ${seconds(timeoutMs)}`)),
      timeoutMs,
    );
  });
  let bytes: Uint8Array;
  try {
    bytes =
      declared !== undefined && DECIMAL.test(declared)
        ? await within(
            deadline,
            context.req.raw.arrayBuffer().then((buffer) => new Uint8Array(buffer)),
          )
        : await readChunks(context.req.raw.body!, maxBytes, deadline);
  } finally {
    clearTimeout(timer);
  }
  // Node's HTTP parser never delivers more than the declared length; a request built in process is not framed.
  if (bytes.byteLength > maxBytes) throw tooLarge(maxBytes);
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new KeelError("invalid_request", "the body is not valid UTF-8", {
      issues: [{ path: "(body)", message: "expected UTF-8 text" }],
    });
  }
  // Hono keeps promises of bodies in its cache, whatever its type says.
  context.req.bodyCache.text = Promise.resolve(text) as unknown as string;
  return text;
}

/** A content-length value: digits only (anything else is the HTTP parser's to refuse). */
const DECIMAL = /^\d+$/;
/** Strict UTF-8: a malformed byte is an error, not U+FFFD. Stateless between calls, so one serves every request. */
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** The read, unless the deadline passes first; a read that fails is a body that could not be read to its end. */
async function within<T>(deadline: Promise<never>, read: Promise<T>): Promise<T> {
  read.catch(() => undefined);
  try {
    return await Promise.race([read, deadline]);
  } catch (error) {
    if (error instanceof KeelError) throw error;
    throw new KeelError("invalid_request", "the body could not be read to its end");
  }
}

/** A body of no declared length, chunk by chunk, refused as soon as it passes `maxBytes`. */
async function readChunks(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
  deadline: Promise<never>,
): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const chunk = await within(deadline, reader.read());
    if (chunk.done) break;
    size += chunk.value.byteLength;
    if (size > maxBytes) throw tooLarge(maxBytes);
    chunks.push(chunk.value);
  }
  return Buffer.concat(chunks);
}

function tooLarge(maxBytes: number): KeelError {
  return new KeelError("payload_too_large", `the body is larger than ${describeBytes(maxBytes)}`);
}

function describeBytes(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}

function seconds(ms: number): string {
  return ms % 1_000 === 0 ? `${ms / 1_000} s` : `${ms} ms`;
}
