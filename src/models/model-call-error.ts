import {
  APICallError,
  InvalidArgumentError,
  LoadAPIKeyError,
  LoadSettingError,
  NoSuchModelError,
  UnsupportedFunctionalityError,
} from "@ai-sdk/provider";
import { type ErrorCode, KeelError } from "../errors/index.ts";
import type { CallCost, ModelCallAttempt, Usage } from "../journal/index.ts";

/**
 * Why a model call failed, as the gateway decides what to do next: retry the same target, fail over to a
 * fallback chosen for this class, or give up.
 */
export type ModelErrorClass =
  | "rate_limited"
  | "unavailable"
  | "timeout"
  | "malformed_response"
  | "context_too_long"
  | "content_refused"
  | "auth"
  | "invalid_request"
  /** The target cannot work as configured (unknown provider or model, missing key, unusable URL): never retried. */
  | "configuration"
  | "circuit_open"
  | "cancelled";

const CODES: Record<ModelErrorClass, ErrorCode> = {
  rate_limited: "model_rate_limited",
  unavailable: "model_unavailable",
  timeout: "model_timeout",
  malformed_response: "model_failed",
  context_too_long: "context_too_long",
  content_refused: "content_refused",
  auth: "model_failed",
  invalid_request: "model_failed",
  configuration: "model_misconfigured",
  circuit_open: "model_unavailable",
  cancelled: "interrupted",
};

/** Classes worth another try against the same target (after a backoff). */
export const RETRYABLE_CLASSES: ReadonlySet<ModelErrorClass> = new Set([
  "rate_limited",
  "unavailable",
  "timeout",
  "malformed_response",
]);

/** Classes that say the target itself is unhealthy and count towards opening its circuit breaker. */
export const BREAKER_CLASSES: ReadonlySet<ModelErrorClass> = RETRYABLE_CLASSES;

/** Classes a fallback handles when its spec entry does not say `on:`. */
export const DEFAULT_FAILOVER_CLASSES: readonly ModelErrorClass[] = [
  "rate_limited",
  "unavailable",
  "timeout",
  "malformed_response",
  "circuit_open",
];

/**
 * What a stream cut after its first token had used: the target that served it, the text that reached the caller,
 * and usage and cost estimated from the request and that text (the provider reports usage only at the end).
 */
export type StreamedPart = { provider: string; model: string; text: string; usage: Usage; cost: CallCost };

/** A classified model failure: the one error type, with the class and any Retry-After the provider sent. */
export class ModelCallError extends KeelError {
  readonly errorClass: ModelErrorClass;
  readonly retryAfterMs: number | undefined;
  /** Whether any output reached the caller before the failure (a stream cut after its first token). */
  readonly afterFirstToken: boolean;
  /** Set by the gateway: every try it made, in order, before giving up. */
  attempts: ModelCallAttempt[] = [];
  /** Set by the gateway when a stream was cut after its first token: what had been used, as far as is known. */
  partial: StreamedPart | undefined;

  constructor(
    errorClass: ModelErrorClass,
    message: string,
    options: { retryAfterMs?: number | undefined; afterFirstToken?: boolean; cause?: unknown } = {},
  ) {
    super(CODES[errorClass], message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = "ModelCallError";
    this.errorClass = errorClass;
    this.retryAfterMs = options.retryAfterMs;
    this.afterFirstToken = options.afterFirstToken ?? false;
  }
}

const CONTEXT_TOO_LONG =
  /context[_ ]length|prompt is too long|too many tokens|maximum context|input is too long|exceeds the (maximum|context)/i;
const REFUSED = /content[_ ]policy|safety|content_filter|refus|blocked/i;

/** What a request to an unusable URL fails with (fetch's words): no try can succeed until the URL is fixed. */
const UNUSABLE_URL = /unknown scheme|bad port|invalid url|failed to parse url|unsupported protocol/i;
/** A 400 that says the model id itself is wrong (OpenAI-compatible servers differ in status and words). */
const UNKNOWN_MODEL =
  /model\b.*\b(not found|does not exist|not supported|unknown|invalid)|(unknown|invalid|unsupported) model/i;

/** Classify anything an adapter threw. Vendor specifics (status codes, bodies, headers) stay in this function. */
export function classifyModelError(error: unknown, options: { now?: () => number } = {}): ModelCallError {
  if (error instanceof ModelCallError) return error;
  if (isAbort(error))
    return new ModelCallError("cancelled", "the model call was cancelled", { cause: error });
  const misconfigured = configurationProblem(error);
  if (misconfigured !== null) return new ModelCallError("configuration", misconfigured, { cause: error });
  if (APICallError.isInstance(error)) {
    const status = error.statusCode;
    const detail = `${error.message} ${error.responseBody ?? ""}`;
    const retryAfterMs = parseRetryAfter(error.responseHeaders, options.now ?? Date.now);
    const say = (text: string) =>
      `${text}${status === undefined ? "" : ` (HTTP ${status})`}: ${error.message}`;
    if (/invalid json|json parse/i.test(error.message)) {
      return new ModelCallError("malformed_response", say("the provider sent malformed JSON"), {
        cause: error,
      });
    }
    if (status === undefined) {
      if (UNUSABLE_URL.test(`${error.message} ${causeMessage(error)}`))
        return new ModelCallError("configuration", say("the provider's URL cannot be used"), {
          cause: error,
        });
      return new ModelCallError("unavailable", say("could not reach the provider"), { cause: error });
    }
    if (status === 404)
      return new ModelCallError("configuration", say("the provider has no such model or endpoint"), {
        cause: error,
      });
    // A 2xx whose body broke while being read (a stream cut mid-way) is the connection failing, not the request.
    if (status < 300) {
      return new ModelCallError("unavailable", say("the provider's response broke off"), { cause: error });
    }
    if (status === 429)
      return new ModelCallError("rate_limited", say("rate limited"), { retryAfterMs, cause: error });
    if (status === 408) return new ModelCallError("timeout", say("the provider timed out"), { cause: error });
    if (status === 401 || status === 403)
      return new ModelCallError("auth", say("the provider refused the key"), { cause: error });
    if (status >= 500) {
      const what = status === 529 ? "the provider is overloaded" : "the provider is unavailable";
      return new ModelCallError("unavailable", say(what), { retryAfterMs, cause: error });
    }
    if (CONTEXT_TOO_LONG.test(detail))
      return new ModelCallError("context_too_long", say("the prompt is too long"), { cause: error });
    if (REFUSED.test(detail))
      return new ModelCallError("content_refused", say("the provider refused the content"), { cause: error });
    if (status === 400 && UNKNOWN_MODEL.test(detail))
      return new ModelCallError("configuration", say("the provider does not know the model"), {
        cause: error,
      });
    return new ModelCallError("invalid_request", say("the provider rejected the request"), { cause: error });
  }
  const name = error instanceof Error ? error.name : "";
  const message = error instanceof Error ? error.message : JSON.stringify(error);
  if (error instanceof Error && "isTaskCancelledError" in error) {
    return new ModelCallError("timeout", "the model call timed out", { cause: error });
  }
  if (error instanceof Error && "isBrokenCircuitError" in error) {
    return new ModelCallError("circuit_open", "the target's circuit breaker is open", { cause: error });
  }
  if (/JSON|TypeValidation/i.test(name) || /json/i.test(message)) {
    return new ModelCallError("malformed_response", `the provider sent a malformed response: ${message}`, {
      cause: error,
    });
  }
  // Errors inside a stream (Anthropic's `error` event, a dropped socket) arrive as plain objects or TypeErrors.
  const kind = streamErrorKind(error);
  if (kind === "overloaded_error" || kind === "api_error") {
    return new ModelCallError("unavailable", `the provider failed mid-stream: ${kind}`, { cause: error });
  }
  if (kind === "rate_limit_error")
    return new ModelCallError("rate_limited", "rate limited mid-stream", { cause: error });
  if (/terminated|socket|ECONNRESET|fetch failed|other side closed|network/i.test(message)) {
    return new ModelCallError("unavailable", `the connection to the provider broke: ${message}`, {
      cause: error,
    });
  }
  return new ModelCallError("unavailable", `the model call failed: ${message}`, { cause: error });
}

/**
 * Why a target cannot work as configured, or null: one of Keel's own user errors (an unknown provider, a key that
 * is not set), the AI SDK's settings errors (missing key, unknown model, unsupported option), or a URL fetch
 * refuses before sending anything.
 */
function configurationProblem(error: unknown): string | null {
  if (error instanceof KeelError)
    return error.code === "invalid_spec" || error.code === "invalid_request" ? error.message : null;
  if (
    LoadAPIKeyError.isInstance(error) ||
    LoadSettingError.isInstance(error) ||
    NoSuchModelError.isInstance(error) ||
    UnsupportedFunctionalityError.isInstance(error) ||
    InvalidArgumentError.isInstance(error)
  ) {
    return `the model is not configured correctly: ${error.message}`;
  }
  if (
    error instanceof TypeError &&
    ((error.cause as { code?: unknown } | undefined)?.code === "ERR_INVALID_URL" ||
      UNUSABLE_URL.test(`${error.message} ${causeMessage(error)}`))
  ) {
    return `the provider's URL cannot be used: ${error.message}`;
  }
  return null;
}

function causeMessage(error: Error): string {
  return error.cause instanceof Error ? error.cause.message : "";
}

/** `Retry-After` (seconds or an HTTP date) or `retry-after-ms`, in milliseconds. */
export function parseRetryAfter(
  headers: Record<string, string> | undefined,
  now: () => number = Date.now,
): number | undefined {
  if (!headers) return undefined;
  const ms = headers["retry-after-ms"];
  if (ms !== undefined && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const value = headers["retry-after"];
  if (value === undefined) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.max(0, Number(value) * 1_000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now());
}

function isAbort(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.name === "AbortError" || error.name === "TimeoutError" || error.name === "ResponseAborted")
  );
}

function streamErrorKind(error: unknown): string | undefined {
  if (error && typeof error === "object" && "type" in error) {
    const inner = (error as { error?: { type?: unknown } }).error;
    if (inner && typeof inner.type === "string") return inner.type;
  }
  return undefined;
}
