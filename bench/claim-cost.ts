/**
 * `node bench/claim-cost.ts [--waiting 5000,25000] [--claims 300]`: what a worker's claim costs on PGlite (in memory) with
 * nothing to take, with no run waiting and then beside more and more runs waiting for a person (suspended, each with
 * its deadline as a timer: `wake_at` a day ahead), written straight into the runs table. A claim reads only the
 * runs that need a worker and the timers that came due (invariant 7), so the figure should not grow with them.
 */
import { parseArgs } from "node:util";
import { openStore } from "../src/store/open-store.ts";
import { summarizeLatencies } from "./summarize-latencies.ts";

const { values } = parseArgs({
  options: { waiting: { type: "string", default: "5000,25000" }, claims: { type: "string", default: "300" } },
});
const claims = Number(values.claims);
const steps = values.waiting.split(",").map(Number);
if (!Number.isInteger(claims) || claims < 1 || steps.some((n) => !Number.isInteger(n) || n < 0)) {
  throw new Error(
    "--claims must be a whole number of at least 1 and --waiting whole numbers, comma-separated",
  );
}

const store = await openStore({});
async function measure(label: string): Promise<void> {
  const times: number[] = [];
  for (let index = 0; index < claims; index++) {
    const started = performance.now();
    await store.claimRuns({ owner: "bench", ttlMs: 10_000, limit: 8, agents: ["waiter"] });
    times.push(performance.now() - started);
  }
  const { p50, p95 } = summarizeLatencies(times);
  console.log(`${label.padEnd(34)} p50 ${p50.toFixed(3)} ms, p95 ${p95.toFixed(3)} ms (${claims} claims)`);
}

console.log("a claim with nothing to take, PGlite in memory");
await measure("no run waiting");
let waiting = 0;
for (const total of steps) {
  await store.sql.query(
    `INSERT INTO keel_runs (run_id, agent, agent_version, status, input, principal, last_seq, last_hash, wake_at)
     SELECT 'waiting_' || g, 'waiter', '1.0.0', 'suspended', 'waiting',
            '{"subject":"bench","tenant":"default","roles":[]}'::jsonb, 1, '', now() + interval '1 day'
       FROM generate_series($1::int + 1, $2::int) AS g`,
    [waiting, total],
  );
  waiting = Math.max(waiting, total);
  await measure(`${waiting.toLocaleString("en")} runs waiting`);
}
await store.close();
