import type { Principal } from "../journal/index.ts";
import type { GovernanceStore } from "./governance-store.ts";
import type { RateRule } from "./load-governed-agent.ts";

/** Why a call did not fit its rate limits, or null when it did. */
export type RateLimitVerdict = { rule: string; retryAfterMs: number } | null;

/**
 * Take one token from every bucket that applies to a tool call: the tool's own limit and the agent-wide `*` one.
 * A bucket is per agent, and split by tool, tenant and user as its `per` says. Throws when the store is down.
 */
export async function takeRateLimits(options: {
  store: GovernanceStore;
  rules: readonly RateRule[];
  agent: string;
  tool: string;
  principal: Principal;
  now: number;
  /** A store that does not answer within this long is down. */
  timeoutMs: number;
}): Promise<RateLimitVerdict> {
  for (const rule of options.rules) {
    if (rule.tool !== "*" && rule.tool !== options.tool) continue;
    const parts = rule.per.map((dimension) => {
      switch (dimension) {
        case "agent":
          return `agent=${options.agent}`;
        case "tool":
          return `tool=${options.tool}`;
        case "tenant":
          return `tenant=${options.principal.tenant}`;
        case "user":
          return `user=${options.principal.tenant}/${options.principal.subject}`;
        default: {
          const unreachable: never = dimension;
          throw new Error(`unknown rate-limit key ${String(unreachable)}`);
        }
      }
    });
    const key = [options.agent, rule.id, ...parts].join("|");
    const answer: unknown = await withTimeout(
      options.store.takeToken({ key, bucket: rule.bucket, now: options.now }),
      options.timeoutMs,
    );
    if (
      answer === null ||
      typeof answer !== "object" ||
      typeof (answer as { allowed?: unknown }).allowed !== "boolean"
    ) {
      throw new Error(`the rate-limit store answered ${JSON.stringify(answer)} instead of a bucket answer`);
    }
    const { allowed, retryAfterMs } = answer as { allowed: boolean; retryAfterMs?: unknown };
    if (allowed !== true) {
      return { rule: rule.id, retryAfterMs: typeof retryAfterMs === "number" ? retryAfterMs : 0 };
    }
  }
  return null;
}

async function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
