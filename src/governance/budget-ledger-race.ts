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

/** The cap of the exhaustion race: $1 for one key's day, nearly spent before the race starts. */
export const EXHAUSTION_COUNTER: BudgetCounter = {
  scope: "key:exhaustion",
  period: "2026-11-21",
  limitUsd: 1,
  alertAt: [1],
};

/**
 * `calls` reservations of $0.01 at once against `EXHAUSTION_COUNTER`; all are held until every one has an
 * answer, then the admitted ones settle at exactly their hold. Returns how many were admitted and what the
 * counter held at the moment every reservation had been answered (before any settled).
 */
export async function runExhaustionRace(options: {
  ledger: BudgetLedger;
  prefix: string;
  calls: number;
}): Promise<{ admitted: number; refused: number; heldUsd: number }> {
  const outcomes = await Promise.all(
    Array.from({ length: options.calls }, (_, index) =>
      options.ledger.reserve({
        reservationId: `${options.prefix}-${index}`,
        counters: [EXHAUSTION_COUNTER],
        usd: 0.01,
        tokens: 100,
      }),
    ),
  );
  const { reservedUsd } = await options.ledger.read(EXHAUSTION_COUNTER);
  const admitted = outcomes.flatMap((outcome) => (outcome.ok ? [outcome.reservationId] : []));
  await Promise.all(
    admitted.map((reservationId) => options.ledger.settle({ reservationId, usd: 0.01, tokens: 100 })),
  );
  return { admitted: admitted.length, refused: options.calls - admitted.length, heldUsd: reservedUsd };
}
