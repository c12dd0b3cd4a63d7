/**
 * `node bench/pglite-prepared.ts [--runs 2000] [--reads 3000] [--rounds 3]`: what a prepared statement saves on
 * the embedded store. On one PGlite database on disk (as `keel serve` opens it) holding `--runs` runs, reads a run
 * by id `--reads` times through PGlite's own `query` (the baseline, taken in the same run) and as the store's
 * prepared statement (`src/store/pglite-sql-client.ts`), the two interleaved round by round, and prints the mean
 * time and CPU per read of each and their ratio. Both return the same rows: the bench checks that first.
 */
import { isDeepStrictEqual, parseArgs } from "node:util";
import { startRun } from "../src/runtime/start-run.ts";
import { RUN_COLUMNS } from "../src/store/run-rows.ts";
import { BENCH_PRINCIPAL, createBenchAgent } from "./bench-agent.ts";
import { pgliteTarget } from "./bench-targets.ts";
import { loadAverage } from "./machine-cpu.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "2000" },
    reads: { type: "string", default: "3000" },
    rounds: { type: "string", default: "3" },
  },
});
const runs = Number(values.runs);
const reads = Number(values.reads);
const rounds = Number(values.rounds);
for (const [name, value] of Object.entries({ runs, reads, rounds })) {
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`--${name} must be a whole number of at least 1`);
}

const target = pgliteTarget();
const { store, dispose } = await target.openStore();
const { agent } = createBenchAgent({ steps: 1, name: "bench-prepared" });
const ids: string[] = [];
for (let index = 0; index < runs; index++) {
  const { run } = await startRun({ store, agent, input: "benchmark", principal: BENCH_PRINCIPAL });
  ids.push(run.runId);
}

const text = `SELECT ${RUN_COLUMNS} FROM keel_runs WHERE run_id = $1`;
const ways = {
  "PGlite query (baseline)": async (runId: string) => (await store.sql.query(text, [runId])).rows,
  "prepared statement": async (runId: string) =>
    (await store.sql.query(text, [runId], { prepared: "bench_get_run" })).rows,
};
for (const runId of ids.slice(0, 20)) {
  const [plain, prepared] = await Promise.all(Object.values(ways).map(async (read) => await read(runId)));
  if (!isDeepStrictEqual(plain, prepared))
    throw new Error(`the two reads of ${runId} returned different rows`);
}

console.log(
  `PGlite on disk, ${runs.toLocaleString("en")} runs, ${reads.toLocaleString("en")} reads a round, ${rounds} rounds; Node ${process.version}; load average ${loadAverage()}`,
);
const totals = new Map<string, { ms: number; cpuMs: number }>();
for (let round = 0; round < rounds; round++) {
  for (const [name, read] of Object.entries(ways)) {
    for (let index = 0; index < 200; index++) await read(ids[index % ids.length]!);
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let index = 0; index < reads; index++) await read(ids[(index * 7919) % ids.length]!);
    const ms = (performance.now() - started) / reads;
    const used = process.cpuUsage(cpu);
    const cpuMs = (used.user + used.system) / 1_000 / reads;
    console.log(`  round ${round + 1}, ${name}: ${ms.toFixed(3)} ms a read, ${cpuMs.toFixed(3)} ms of CPU`);
    const total = totals.get(name) ?? { ms: 0, cpuMs: 0 };
    totals.set(name, { ms: total.ms + ms / rounds, cpuMs: total.cpuMs + cpuMs / rounds });
  }
}
const [baseline, prepared] = [...totals.values()] as [
  { ms: number; cpuMs: number },
  { ms: number; cpuMs: number },
];
console.log(
  `mean over rounds: query ${baseline.ms.toFixed(3)} ms (CPU ${baseline.cpuMs.toFixed(3)}), prepared ${prepared.ms.toFixed(3)} ms (CPU ${prepared.cpuMs.toFixed(3)}): ${(prepared.ms / baseline.ms).toFixed(2)}× the time, ${(prepared.cpuMs / baseline.cpuMs).toFixed(2)}× the CPU`,
);
await dispose();
await target.close();
