import {
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  DelegateBackoff,
  decorrelatedJitterGenerator,
  ExponentialBackoff,
  handleWhen,
  type IBackoff,
  type IPolicy,
  type IRetryBackoffContext,
  retry,
  TimeoutStrategy,
  timeout,
  wrap,
} from "cockatiel";
import { BREAKER_CLASSES, classifyModelError, RETRYABLE_CLASSES } from "./model-call-error.ts";

/** How hard the gateway tries one target before moving on. */
export type ResilienceOptions = {
  /** Tries per target, the first included (default 3). */
  maxAttempts: number;
  /** First and largest backoff between tries; decorrelated jitter in between (defaults 200 ms, 5 s). */
  initialDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited out: the gateway fails over instead (default 10 s). */
  maxRetryAfterMs: number;
  /** Limit for one try; for a stream, until its first token (default 60 s). */
  attemptTimeoutMs: number;
  /** Consecutive failing calls that open a target's circuit (default 5). */
  breakerThreshold: number;
  /** How long an open circuit waits before letting one probe through (default 30 s). */
  halfOpenAfterMs: number;
};

export const DEFAULT_RESILIENCE: ResilienceOptions = {
  maxAttempts: 3,
  initialDelayMs: 200,
  maxDelayMs: 5_000,
  maxRetryAfterMs: 10_000,
  attemptTimeoutMs: 60_000,
  breakerThreshold: 5,
  halfOpenAfterMs: 30_000,
};

/** The policies guarding one target (provider × model × key): its own breaker, retries and timeout. */
export type TargetPolicies = {
  /** Retries (outermost) → circuit breaker → timeout → the call. */
  readonly policy: IPolicy;
  readonly breakerState: () => "closed" | "open" | "half-open" | "isolated";
};

/**
 * Build a target's policies with cockatiel. Retries wait the larger of decorrelated jitter and the provider's
 * Retry-After, and only for retryable classes; a Retry-After past `maxRetryAfterMs` is left to failover.
 * Only classes that say the target is unhealthy count towards its breaker.
 */
export function createTargetPolicies(options: ResilienceOptions): TargetPolicies {
  const breaker = circuitBreaker(
    handleWhen((error) => BREAKER_CLASSES.has(classifyModelError(error).errorClass)),
    { halfOpenAfter: options.halfOpenAfterMs, breaker: new ConsecutiveBreaker(options.breakerThreshold) },
  );
  const jitter = new ExponentialBackoff({
    generator: decorrelatedJitterGenerator,
    initialDelay: options.initialDelayMs,
    maxDelay: options.maxDelayMs,
  });
  const backoff = new DelegateBackoff<IRetryBackoffContext<unknown>, IBackoff<unknown> | undefined>(
    (context, state) => {
      const next = state ? state.next(context) : jitter.next();
      const retryAfter =
        "error" in context.result ? (classifyModelError(context.result.error).retryAfterMs ?? 0) : 0;
      return { delay: Math.max(next.duration, retryAfter), state: next };
    },
  );
  const retries = retry(
    handleWhen((error) => {
      const classified = classifyModelError(error);
      if (!RETRYABLE_CLASSES.has(classified.errorClass)) return false;
      return (classified.retryAfterMs ?? 0) <= options.maxRetryAfterMs;
    }),
    { maxAttempts: options.maxAttempts - 1, backoff },
  );
  // Not aborted on return: a stream's first token returns from the policy while the stream goes on.
  const limit = timeout(options.attemptTimeoutMs, {
    strategy: TimeoutStrategy.Aggressive,
    abortOnReturn: false,
  });
  return {
    policy: wrap(retries, breaker, limit),
    breakerState: () => STATES[breaker.state],
  };
}

const STATES = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half-open",
  [CircuitState.Isolated]: "isolated",
} as const;
