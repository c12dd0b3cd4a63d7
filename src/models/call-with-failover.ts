import type { ModelCallAttempt } from "../journal/index.ts";
import {
  classifyModelError,
  DEFAULT_FAILOVER_CLASSES,
  ModelCallError,
  type ModelErrorClass,
} from "./model-call-error.ts";
import type { GenerateOptions, ModelProvider, ModelStreamPart, ModelTurn } from "./model-provider.ts";
import type { TargetPolicies } from "./target-policies.ts";

type Attempt = ModelCallAttempt;

/** One model the gateway can call: an adapter bound to a provider, model and key. */
export type ModelTarget = {
  readonly adapter: ModelProvider;
  /** Which credential the adapter uses (the env variable's name, never the key): part of the breaker's identity. */
  readonly keyId: string;
  /** Self-hosted models cost nothing; their tokens still count. */
  readonly selfHosted?: boolean;
  /** For a fallback: the error classes it takes over (default: rate limited, unavailable, timeouts, open circuit). */
  readonly on?: readonly ModelErrorClass[];
};

/**
 * What failover needs of a target, a model's or an embedding model's: who it is (for its attempts and its breaker)
 * and which error classes it takes over as a fallback.
 */
export type FailoverTarget = {
  readonly adapter: { readonly provider: string; readonly model: string };
  readonly keyId: string;
  readonly on?: readonly ModelErrorClass[];
};

/** The breaker identity of a target: provider × model × key. */
export function targetKey(target: FailoverTarget): string {
  return `${target.adapter.provider}|${target.adapter.model}|${target.keyId}`;
}

export type FailoverContext = {
  targets: readonly ModelTarget[];
  policiesFor: (target: ModelTarget) => TargetPolicies;
  request: GenerateOptions;
};

/** A finished call: the turn, which target gave it, and every try made on the way. */
export type FailoverResult = { turn: ModelTurn; target: ModelTarget; attempts: Attempt[] };

/**
 * Call the first target; when it fails, move to the next fallback that handles that error class, and so on.
 * Each target's own policies retry it first. When nothing is left the error carries every attempt.
 */
export async function generateWithFailover(context: FailoverContext): Promise<FailoverResult> {
  const attempts: Attempt[] = [];
  const outcome = await walkTargets(walkOf(context), attempts, async (target, signal) => {
    const turn = await target.adapter.generate({ ...context.request, signal });
    return { turn, target, attempts };
  });
  return outcome;
}

/**
 * Make `call` against the first target, through its policies (retries, breaker, timeout), failing over to the next
 * target that handles the error's class, as a model call does: for calls that are not model turns (embeddings).
 */
export async function callWithFailover<T, Target extends FailoverTarget>(
  context: Walk<Target>,
  call: (target: Target, signal: AbortSignal) => Promise<T>,
): Promise<{ value: T; target: Target; attempts: Attempt[] }> {
  const attempts: Attempt[] = [];
  return await walkTargets(context, attempts, async (target, signal) => ({
    value: await call(target, signal),
    target,
    attempts,
  }));
}

/** The targets a call walks, their policies, and the caller's signal. */
type Walk<Target extends FailoverTarget> = {
  targets: readonly Target[];
  policiesFor: (target: Target) => TargetPolicies;
  signal: AbortSignal;
};

function walkOf(context: FailoverContext): Walk<ModelTarget> {
  return { targets: context.targets, policiesFor: context.policiesFor, signal: context.request.signal };
}

/** What a stream yields: the turn's parts, then the result that says which target served it. */
export type FailoverStreamPart =
  | ModelStreamPart
  | { type: "served"; target: ModelTarget; attempts: Attempt[] };

/**
 * Stream from the first target that produces a first token. Retries and failover happen only before that
 * token; once anything reached the caller, a failure is final (marked `afterFirstToken`).
 */
export async function* streamWithFailover(context: FailoverContext): AsyncGenerator<FailoverStreamPart> {
  const attempts: Attempt[] = [];
  const opened = await walkTargets(walkOf(context), attempts, async (target, signal) => {
    const iterator = openStream(target.adapter, { ...context.request, signal })[Symbol.asyncIterator]();
    const first = await iterator.next();
    if (first.done)
      throw new ModelCallError("unavailable", "the provider's stream ended before its first token");
    return { iterator, first: first.value, target };
  });
  yield { type: "served", target: opened.target, attempts };
  yield opened.first;
  if (opened.first.type === "finish") return;
  const started = performance.now();
  try {
    for (;;) {
      const next = await opened.iterator.next();
      if (next.done) return;
      yield next.value;
      if (next.value.type === "finish") return;
    }
  } catch (error) {
    const classified = classifyModelError(error);
    const after = new ModelCallError(
      classified.errorClass,
      `${classified.message} (after the first token: not retried)`,
      {
        afterFirstToken: true,
        cause: error,
      },
    );
    attempts.push(attemptOf(opened.target, "error", performance.now() - started, after));
    after.attempts = attempts;
    throw after;
  }
}

/** Walk the targets in order, each through its policies, until one succeeds or none is left for the error. */
async function walkTargets<T, Target extends FailoverTarget>(
  context: Walk<Target>,
  attempts: Attempt[],
  call: (target: Target, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const callerSignal = context.signal;
  let index = 0;
  let last: ModelCallError | null = null;
  while (index < context.targets.length) {
    const target = context.targets[index]!;
    const policies = context.policiesFor(target);
    try {
      return await policies.policy.execute(async ({ signal }) => {
        const started = performance.now();
        try {
          // cockatiel derives `signal` from the caller's (passed to execute below) and aborts it on timeout.
          const result = await call(target, signal);
          attempts.push(attemptOf(target, "ok", performance.now() - started));
          return result;
        } catch (error) {
          const classified = asTimeout(classifyModelError(error), callerSignal);
          attempts.push(attemptOf(target, "error", performance.now() - started, classified));
          throw classified;
        }
      }, callerSignal);
    } catch (error) {
      last = asTimeout(classifyModelError(error), callerSignal);
      if (last.errorClass === "circuit_open") {
        attempts.push(attemptOf(target, "skipped", 0, last));
      } else if (last.errorClass === "timeout" && attempts.at(-1)?.errorClass !== "timeout") {
        attempts.push(attemptOf(target, "error", 0, last));
      }
      if (last.errorClass === "cancelled") break;
      index = nextTargetFor(context.targets, index + 1, last.errorClass);
    }
  }
  const failure = last ?? new ModelCallError("unavailable", "no model target is configured");
  const summary = attempts.map(
    (attempt) => `${attempt.provider}/${attempt.model}: ${attempt.errorClass ?? attempt.outcome}`,
  );
  const error = new ModelCallError(
    failure.errorClass,
    failure.errorClass === "cancelled"
      ? failure.message
      : `every model target failed (${summary.join("; ")}): ${failure.message}`,
    { retryAfterMs: failure.retryAfterMs, cause: failure },
  );
  error.attempts = attempts;
  throw error;
}

function nextTargetFor(
  targets: readonly FailoverTarget[],
  from: number,
  errorClass: ModelErrorClass,
): number {
  for (let index = from; index < targets.length; index += 1) {
    const handles = targets[index]!.on ?? DEFAULT_FAILOVER_CLASSES;
    if (handles.includes(errorClass)) return index;
  }
  return targets.length;
}

/** An attempt aborted by its own timeout, not by the caller, is a timeout. */
function asTimeout(error: ModelCallError, callerSignal: AbortSignal): ModelCallError {
  if (error.errorClass !== "cancelled" || callerSignal.aborted) return error;
  return new ModelCallError("timeout", "the model call timed out", { cause: error });
}

function openStream(adapter: ModelProvider, request: GenerateOptions): AsyncIterable<ModelStreamPart> {
  if (adapter.stream) return adapter.stream(request);
  return (async function* () {
    yield { type: "finish" as const, turn: await adapter.generate(request) };
  })();
}

function attemptOf(
  target: FailoverTarget,
  outcome: Attempt["outcome"],
  durationMs: number,
  error?: ModelCallError,
): Attempt {
  return {
    provider: target.adapter.provider,
    model: target.adapter.model,
    outcome,
    ...(error ? { errorClass: error.errorClass, message: error.message.slice(0, 300) } : {}),
    durationMs: Math.max(0, durationMs),
  };
}
