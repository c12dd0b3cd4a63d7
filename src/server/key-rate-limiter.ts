/** A token bucket per API key, in this process. */
export type KeyRateLimiter = {
  /** Take one request's token from the key's bucket; `retryAfterMs` is 0 when it fitted. */
  take(keyId: string): { retryAfterMs: number };
};

/**
 * Per-key token buckets in memory: `burst` requests at once, refilled at `perMinute`. Each server process keeps its
 * own buckets, so N processes behind a balancer allow up to N times the rate; the store-backed buckets of the
 * governor (governance/rate-limits.ts) would cost a database round trip on every request, which this gate avoids.
 */
export function createKeyRateLimiter(options: {
  perMinute: number;
  burst: number;
  now?: () => number;
}): KeyRateLimiter {
  const refillPerMs = options.perMinute / 60_000;
  const now = options.now ?? (() => performance.now());
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(keyId) {
      const at = now();
      const bucket = buckets.get(keyId) ?? { tokens: options.burst, at };
      const tokens = Math.min(options.burst, bucket.tokens + Math.max(0, at - bucket.at) * refillPerMs);
      if (tokens >= 1) {
        buckets.set(keyId, { tokens: tokens - 1, at });
        return { retryAfterMs: 0 };
      }
      buckets.set(keyId, { tokens, at });
      return { retryAfterMs: Math.ceil((1 - tokens) / refillPerMs) };
    },
  };
}
