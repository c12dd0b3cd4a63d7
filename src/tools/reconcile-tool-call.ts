import { describeZodIssues } from "./execute-tool-call.ts";
import type { ReconcileContext, Tool } from "./tool.ts";

/**
 * What is known about an attempt whose end was never recorded: its effect happened (with the tool's result), it
 * did not, or nobody can tell — the tool has no `reconcile` hook, or the hook failed, timed out or answered
 * something invalid (`why` says which).
 */
export type ReconcileOutcome =
  | { status: "applied"; result: unknown }
  | { status: "not-applied" }
  | { status: "unknown"; why: string };

/**
 * Ask a tool's `reconcile` hook whether an earlier attempt with this idempotency key applied its effect, under
 * the same timeout as a call. Never throws: anything but a valid answer is `unknown`, because a guess either way
 * could make the journal contradict what happened.
 */
export async function reconcileToolCall(options: {
  tool: Tool;
  arguments: unknown;
  context: Omit<ReconcileContext, "signal">;
  signal: AbortSignal;
  timeoutMs: number;
}): Promise<ReconcileOutcome> {
  const { tool } = options;
  if (!tool.reconcile) return { status: "unknown", why: `${tool.name} has no reconcile hook` };
  const parsed = tool.input.safeParse(options.arguments);
  if (!parsed.success) {
    return { status: "unknown", why: `its arguments no longer parse: ${describeZodIssues(parsed.error)}` };
  }
  const timeoutMs = tool.timeoutMs ?? options.timeoutMs;
  const signal = AbortSignal.any([options.signal, AbortSignal.timeout(timeoutMs)]);
  let found: Awaited<ReturnType<NonNullable<Tool["reconcile"]>>>;
  try {
    const lookup = tool.reconcile(parsed.data, { ...options.context, signal });
    lookup.catch(() => undefined);
    found = await Promise.race([
      lookup,
      new Promise<never>((_resolve, reject) => {
        signal.addEventListener("abort", () => reject(signal.reason), { once: true });
        if (signal.aborted) reject(signal.reason);
      }),
    ]);
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    return { status: "unknown", why: `its reconcile hook failed: ${text}` };
  }
  if (typeof found !== "object" || found === null || typeof found.applied !== "boolean") {
    return { status: "unknown", why: "its reconcile hook answered neither applied nor not applied" };
  }
  if (!found.applied) return { status: "not-applied" };
  const checked = tool.output
    ? tool.output.safeParse(found.result)
    : { success: true as const, data: found.result };
  if (!checked.success) {
    return {
      status: "unknown",
      why: `its reconcile hook returned an invalid result: ${describeZodIssues(checked.error)}`,
    };
  }
  return {
    status: "applied",
    result: checked.data === undefined ? null : JSON.parse(JSON.stringify(checked.data)),
  };
}
