/**
 * One side of the budget race in budget-ledger.test.ts: run in its own process against a PostgreSQL URL, it
 * makes `calls` concurrent reserve → settle rounds against one shared cap and prints how many were admitted.
 */
import { openStore } from "../store/open-store.ts";
import { runBudgetRace } from "./budget-ledger-race.ts";
import { createSqlBudgetLedger } from "./budget-ledger-sql.ts";

const [databaseUrl, prefix, calls] = process.argv.slice(2);
const store = await openStore({ databaseUrl });
try {
  const outcome = await runBudgetRace({
    ledger: createSqlBudgetLedger(store.sql),
    prefix: prefix!,
    calls: Number(calls),
  });
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
} finally {
  await store.close();
}
