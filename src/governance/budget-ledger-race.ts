import type { BudgetCounter, BudgetLedger } from "./budget-ledger.ts";

/** The shared cap of the race: $5 for one agent's day. */
export const RACE_COUNTER: BudgetCounter = {
  scope: "agent:race",
  period: "2026-11-21",
  limitUsd: 5,
  alertAt: [0.5, 0.8, 1],
};

/**
 * `calls` model calls at once, each reserving its ceiling ($0.01) and settling a real cost at or under it,
 * as the gateway does. Returns how many were admitted and what they settled.
 */
export async function runBudgetRace(options: {
  ledger: BudgetLedger;
  prefix: string;
  calls: number;
}): Promise<{ admitted: number; refused: number; settledUsd: number; alerts: number[] }> {
  let admitted = 0;
  let refused = 0;
  let settledUsd = 0;
  const alerts: number[] = [];
  await Promise.all(
    Array.from({ length: options.calls }, async (_, index) => {
      const reservationId = `${options.prefix}-${index}`;
      const outcome = await options.ledger.reserve({
        reservationId,
        counters: [RACE_COUNTER],
        usd: 0.01,
        tokens: 1_000,
      });
      if (!outcome.ok) {
        refused += 1;
        alerts.push(...outcome.alerts.map((alert) => alert.threshold));
        return;
      }
      admitted += 1;
      const usd = 0.006 + (index % 5) * 0.001;
      settledUsd += usd;
      const settled = await options.ledger.settle({ reservationId, usd, tokens: 800 });
      alerts.push(...settled.alerts.map((alert) => alert.threshold));
    }),
  );
  return { admitted, refused, settledUsd, alerts };
}
