/** A model turn as a loopback server should send it, before it is put in a vendor's wire format. */
export type LoopbackTurn = {
  text?: string;
  toolCalls?: readonly { id: string; name: string; arguments: Record<string, unknown> }[];
  /** Normalised counts (input includes cache reads and writes); the wire format converts them. */
  usage?: { input: number; output: number; cacheRead?: number; cacheWrite?: number; reasoning?: number };
  /** A vendor usage block sent verbatim instead of one derived from `usage` (for recorded payloads). */
  rawUsage?: Record<string, unknown>;
  /** `refusal` maps to each vendor's content-filter stop. */
  finish?: "stop" | "length" | "refusal";
};

/** The error kinds a loopback server can answer with, each in its vendor's own shape. */
export type LoopbackErrorKind =
  | "rate_limited"
  | "overloaded"
  | "server"
  | "context_too_long"
  | "refused"
  | "auth"
  | "invalid";

/** One vendor's wire protocol, as a loopback server speaks it. */
export type WireProtocol = {
  readonly name: string;
  /** True when this request asked for a stream. */
  isStream(path: string, body: Record<string, unknown>): boolean;
  /** The model a request names (body field or path segment). */
  modelOf(path: string, body: Record<string, unknown>): string;
  json(turn: LoopbackTurn, model: string): unknown;
  /** Complete SSE frames, each ending in a blank line. */
  sse(turn: LoopbackTurn, model: string): string[];
  errorBody(kind: LoopbackErrorKind, status: number, message: string): unknown;
  /** An error sent inside an open stream, when the vendor has one. */
  streamErrorFrame(message: string): string;
};

/** Split text into a few chunks so streams carry several deltas. */
export function chunkText(text: string, size = 8): string[] {
  const chunks: string[] = [];
  for (let index = 0; index < text.length; index += size) chunks.push(text.slice(index, index + size));
  return chunks.length > 0 ? chunks : [""];
}
