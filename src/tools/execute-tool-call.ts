import { z } from "zod";
import { KeelError } from "../errors/index.ts";
import type { Tool, ToolContext } from "./tool.ts";

/** How a tool call ended. Failures are data the model sees, not exceptions that crash the run. */
export type ToolCallOutcome =
  | { outcome: "ok"; result: unknown }
  | { outcome: "error"; error: { code: ToolErrorCode; message: string; retryable?: boolean } };

export type ToolErrorCode =
  | "invalid_tool_arguments"
  | "invalid_tool_output"
  | "tool_failed"
  | "tool_timeout"
  /** The tool would not run the call (an MCP tool whose listing is not approved): nothing was sent anywhere. */
  | "tool_refused"
  /** A code tool was called where no sandbox can be made: nothing ran. */
  | "sandbox_unavailable"
  | "cancelled";

/** Where the arguments went wrong, as `path: message` lines a model (or a person) can act on. */
export function describeZodIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(root)"}: ${issue.message}`)
    .join("; ");
}

/**
 * Validate the arguments, run the tool under its timeout and the run's abort signal, validate its output,
 * and return a JSON-safe result. Never throws.
 */
export async function executeToolCall(options: {
  tool: Tool;
  arguments: unknown;
  context: Omit<ToolContext, "signal">;
  signal: AbortSignal;
  /** A second signal that stops the call too (the kill of this one action), joined with the first and the timeout. */
  stopSignal?: AbortSignal;
  timeoutMs: number;
}): Promise<ToolCallOutcome> {
  const { tool } = options;
  const parsed = tool.input.safeParse(options.arguments);
  if (!parsed.success) {
    return {
      outcome: "error",
      error: {
        code: "invalid_tool_arguments",
        message: `invalid arguments for ${tool.name}: ${describeZodIssues(parsed.error)}`,
      },
    };
  }
  const timeoutMs = tool.timeoutMs ?? options.timeoutMs;
  const timeout = AbortSignal.timeout(timeoutMs);
  // One composite signal for all of them: each AbortSignal.any costs a listener and a weak reference per source.
  const signal = AbortSignal.any(
    options.stopSignal ? [options.signal, options.stopSignal, timeout] : [options.signal, timeout],
  );
  try {
    const result = await raceAbort(tool.execute(parsed.data, { ...options.context, signal }), signal);
    const checked = tool.output ? tool.output.safeParse(result) : { success: true as const, data: result };
    if (!checked.success) {
      return {
        outcome: "error",
        error: {
          code: "invalid_tool_output",
          message: `${tool.name} returned invalid output: ${describeZodIssues(checked.error)}`,
        },
      };
    }
    return { outcome: "ok", result: toJsonValue(checked.data) };
  } catch (error) {
    if (timeout.aborted) {
      return {
        outcome: "error",
        error: {
          code: "tool_timeout",
          message: `${tool.name} timed out after ${timeoutMs} ms`,
          retryable: true,
        },
      };
    }
    if (options.signal.aborted) {
      return {
        outcome: "error",
        error: {
          code: "cancelled",
          message: `${tool.name} was aborted: ${reasonText(options.signal.reason)}`,
        },
      };
    }
    if (error instanceof KeelError && error.code === "forbidden")
      return { outcome: "error", error: { code: "tool_refused", message: error.message } };
    if (error instanceof KeelError && error.code === "sandbox_unavailable")
      return { outcome: "error", error: { code: "sandbox_unavailable", message: error.message } };
    return {
      outcome: "error",
      error: { code: "tool_failed", message: error instanceof Error ? error.message : String(error) },
    };
  }
}

/** A tool that ignores its signal must not hold the run past its timeout or a cancel. */
async function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  // Handled first: a tool aborted while it was being started must not leave its rejection unhandled.
  work.catch(() => undefined);
  signal.throwIfAborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    if (onAbort) signal.removeEventListener("abort", onAbort);
    work.catch(() => undefined);
  }
}

function toJsonValue(value: unknown): unknown {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}

function reasonText(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

/**
 * Tool input schemas already converted, as JSON text. Converting walks the zod schema and costs more than the
 * rest of a model turn's preparation, and every turn sends every tool's schema; zod schemas never change.
 */
const inputJsonSchemas = new WeakMap<Tool["input"], string>();

/** Offer `json` to models as the JSON Schema of tools whose input is `input` (a tool described by a JSON Schema). */
export function rememberInputJsonSchema(input: Tool["input"], json: Record<string, unknown>): void {
  const { $schema: _dialect, ...schema } = json;
  inputJsonSchemas.set(input, JSON.stringify(schema));
}

/** The JSON Schema of a tool's arguments, as sent to a model: a fresh object each call, so callers may change it. */
export function toolInputJsonSchema(tool: Tool): Record<string, unknown> {
  let json = inputJsonSchemas.get(tool.input);
  if (json === undefined) {
    const schema = z.toJSONSchema(tool.input, { io: "input", unrepresentable: "any" }) as Record<
      string,
      unknown
    >;
    delete schema.$schema;
    json = JSON.stringify(schema);
    inputJsonSchemas.set(tool.input, json);
  }
  return JSON.parse(json) as Record<string, unknown>;
}
