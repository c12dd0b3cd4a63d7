/**
 * One side of a budget race in budget-ledger.test.ts: run in its own process against a PostgreSQL URL, it
 * makes `calls` concurrent reservations against one shared cap and prints how many were admitted. The mode
 * `settle` (the default) settles each call as it is admitted; `exhaust` holds them all, then settles.
 */
import { openStore } from "../store/index.ts";
import { runBudgetRace, runExhaustionRace } from "./budget-ledger-race.ts";
import { createSqlBudgetLedger } from "./budget-ledger-sql.ts";

const [databaseUrl, prefix, calls, mode = "settle"] = process.argv.slice(2);
const store = await openStore({ databaseUrl });
try {
  const race = mode === "exhaust" ? runExhaustionRace : runBudgetRace;
  const outcome = await race({
    ledger: createSqlBudgetLedger(store.sql),
    prefix: prefix!,
    calls: Number(calls),
  });
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
} finally {
  await store.close();
}
