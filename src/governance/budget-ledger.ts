/**
 * The budget ledger port: reserve before a model call, settle after it (ARCHITECTURE.md invariant 4), and the
 * cost record of every call. Amounts are US dollars and tokens; implementations keep them exact.
 */

/** One budget counter a call draws on, with its caps and the fractions of a cap that raise an alert. */
export type BudgetCounter = {
  /** `run:<id>`, `agent:<name>`, `tenant:<id>` or `key:<id>`. */
  scope: string;
  /** `run` for a run's own budget, else the UTC day `YYYY-MM-DD`. */
  period: string;
  limitUsd?: number;
  limitTokens?: number;
  /** Fractions of the cap (0–1] that fire one `budget-alert` each per period. */
  alertAt: readonly number[];
};

/** An alert threshold crossed for the first time in its period. */
export type BudgetAlert = {
  scope: string;
  period: string;
  threshold: number;
  spentUsd: number;
  spentTokens: number;
  limitUsd?: number;
  limitTokens?: number;
};

/** Why a reservation was refused: the first counter it would have pushed past its cap. */
export type BudgetRefusal = {
  scope: string;
  period: string;
  limitUsd?: number;
  limitTokens?: number;
  spentUsd: number;
  spentTokens: number;
  reservedUsd: number;
  reservedTokens: number;
  requestedUsd: number;
  requestedTokens: number;
};

export type ReserveOutcome =
  | { ok: true; reservationId: string }
  | { ok: false; refusal: BudgetRefusal; alerts: BudgetAlert[] };

/** The cost record of one model call (agent run or governed endpoint). */
export type ModelCallRecord = {
  callId: string;
  origin: "run" | "endpoint";
  tenant: string;
  agent: string;
  agentVersion: string;
  runId?: string;
  apiKey?: string;
  phase: string;
  provider: string;
  model: string;
  outcome: "ok" | "error";
  errorClass?: string;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  costUsd: number;
  priceTableVersion: string;
  routingReason: string;
  responseCache: string;
  attempts: unknown[];
  durationMs: number;
};

export interface BudgetLedger {
  /**
   * Hold `usd` and `tokens` on every counter at once, or on none: refused when any counter's spent plus
   * reserved plus this would pass its cap. Repeating a reservation id returns the first outcome's reservation.
   */
  reserve(options: {
    reservationId: string;
    counters: readonly BudgetCounter[];
    usd: number;
    tokens: number;
    ttlMs?: number;
  }): Promise<ReserveOutcome>;
  /** Replace the hold with what the call really cost; returns the alert thresholds this crossed. Idempotent. */
  settle(options: { reservationId: string; usd: number; tokens: number }): Promise<{ alerts: BudgetAlert[] }>;
  /** Drop a hold without spending (the call was never made or failed before any output). */
  release(reservationId: string): Promise<void>;
  /** What a counter has spent and holds now. */
  read(options: { scope: string; period: string }): Promise<{
    spentUsd: number;
    spentTokens: number;
    reservedUsd: number;
    reservedTokens: number;
  }>;
  /** Append cost records; batched by the implementation. */
  recordCalls(records: readonly ModelCallRecord[]): Promise<void>;
}

/** One cap as a spec declares it. */
export type BudgetCap = {
  usd?: number | undefined;
  tokens?: number | undefined;
  alertAt?: readonly number[] | undefined;
};

/** Budgets as an agent spec (or an endpoint key) declares them. */
export type BudgetLimits = {
  perRun?: BudgetCap | undefined;
  perAgentPerDay?: BudgetCap | undefined;
  perTenantPerDay?: BudgetCap | undefined;
};

/** Default alert thresholds: half, four fifths and all of a cap. */
export const DEFAULT_ALERT_THRESHOLDS: readonly number[] = [0.5, 0.8, 1];

/** The counters one call draws on, from declared budgets. A scope without a cap is not counted. */
export function budgetCounters(options: {
  budgets: BudgetLimits;
  runId?: string;
  agent: string;
  tenant: string;
  now: Date;
  /** The per-run caps of the runs above this one in its tree (a workflow's child runs). */
  parentBudgets?: readonly { runId: string; usd?: number | undefined; tokens?: number | undefined }[];
}): BudgetCounter[] {
  const day = options.now.toISOString().slice(0, 10);
  const counters: BudgetCounter[] = [];
  const add = (scope: string, period: string, limits: BudgetLimits["perRun"]) => {
    if (!limits || (limits.usd === undefined && limits.tokens === undefined)) return;
    counters.push({
      scope,
      period,
      ...(limits.usd === undefined ? {} : { limitUsd: limits.usd }),
      ...(limits.tokens === undefined ? {} : { limitTokens: limits.tokens }),
      alertAt: limits.alertAt ?? DEFAULT_ALERT_THRESHOLDS,
    });
  };
  if (options.runId !== undefined) add(`run:${options.runId}`, "run", options.budgets.perRun);
  // The same counter the parent's own calls draw on, so a tree shares its root's cap under concurrency.
  for (const parent of options.parentBudgets ?? []) add(`run:${parent.runId}`, "run", parent);
  add(`agent:${options.agent}`, day, options.budgets.perAgentPerDay);
  add(`tenant:${options.tenant}`, day, options.budgets.perTenantPerDay);
  return counters;
}

/** A refusal as a sentence a person can act on. */
export function describeRefusal(refusal: BudgetRefusal): string {
  const where = refusal.period === "run" ? refusal.scope : `${refusal.scope} on ${refusal.period}`;
  if (
    refusal.limitUsd !== undefined &&
    refusal.spentUsd + refusal.reservedUsd + refusal.requestedUsd > refusal.limitUsd
  ) {
    return `budget for ${where} is exhausted: $${refusal.spentUsd.toFixed(4)} spent and $${refusal.reservedUsd.toFixed(4)} held of a $${refusal.limitUsd} cap; the next model call may cost up to $${refusal.requestedUsd.toFixed(4)}`;
  }
  return `token budget for ${where} is exhausted: ${refusal.spentTokens} used and ${refusal.reservedTokens} held of ${refusal.limitTokens}; the next model call may use up to ${refusal.requestedTokens}`;
}
