/**
 * `node bench/budget-ledger-throughput.ts [--seconds 10] [--callers 64] [--store postgres|pglite]`: reserve-and-settle
 * pairs per second the budget ledger sustains on one daily counter, `--callers` at once (closed loop), on a durable
 * PostgreSQL it starts (fsync and synchronous_commit on) or embedded PGlite, with the commits they took.
 */
import { parseArgs } from "node:util";
import { createSqlBudgetLedger } from "../src/governance/index.ts";
import { openStore } from "../src/store/index.ts";
import type { SqlClient } from "../src/store/store.ts";
import { startTemporaryPostgres } from "../test/support/temporary-postgres.ts";
import { loadAverage, snapshotCpu } from "./machine-cpu.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    callers: { type: "string", default: "64" },
    store: { type: "string", default: "postgres" },
  },
});
const seconds = Number(values.seconds);
const callers = Number(values.callers);
const postgres = values.store === "postgres" ? await startTemporaryPostgres({ durable: true }) : null;
const store = await openStore(postgres ? { databaseUrl: postgres.url } : {});
let commits = 0;
const counted: SqlClient = {
  ...(store.sql.kind ? { kind: store.sql.kind } : {}),
  async query(text, params) {
    commits += 1;
    return await store.sql.query(text, params);
  },
  async transaction(work) {
    commits += 1;
    return await store.sql.transaction(work);
  },
};
const ledger = createSqlBudgetLedger(counted);
const counter = { scope: "key:bench", period: "2026-12-06", limitUsd: 1_000_000, alertAt: [0.5, 0.8, 1] };
let calls = 0;
let next = 0;
const deadline = performance.now() + seconds * 1_000;
const postgresPort = postgres ? Number(new URL(postgres.url).port) : null;
const cpuBefore = snapshotCpu(postgresPort);
const started = performance.now();
await Promise.all(
  Array.from({ length: callers }, async () => {
    while (performance.now() < deadline) {
      const reservationId = `b-${next++}`;
      const outcome = await ledger.reserve({ reservationId, counters: [counter], usd: 0.004, tokens: 4_000 });
      if (!outcome.ok) throw new Error("refused under a $1,000,000 cap");
      await ledger.settle({ reservationId, usd: 0.0012, tokens: 429 });
      calls += 1;
    }
  }),
);
const elapsed = (performance.now() - started) / 1_000;
const cpuAfter = snapshotCpu(postgresPort);
const perCall = (from: number | null, to: number | null) =>
  from === null || to === null ? "?" : ((to - from) / calls).toFixed(3);
console.log(
  `${values.store}: ${callers} callers, ${(calls / elapsed).toFixed(0)} reserve+settle pairs/s, ${(commits / calls).toFixed(3)} commits per call; CPU ms per call: this process ${perCall(cpuBefore.processMs, cpuAfter.processMs)}, PostgreSQL ${perCall(cpuBefore.serverMs, cpuAfter.serverMs)}; load average ${loadAverage()}`,
);
await store.close();
await postgres?.stop();
