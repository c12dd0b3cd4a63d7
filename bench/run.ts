/**
 * `npm run bench [-- --quick] [-- --json bench/out/results.json]`: runs every benchmark on PGlite (on disk)
 * and on PostgreSQL (DATABASE_URL, or a throwaway durable server), and prints per store a table of p50/p95/p99
 * and throughput with ratios against the raw-INSERT and direct-loop baselines measured in the same run.
 */
import { execFileSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, loadavg } from "node:os";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import type { SqlStore } from "../src/store/sql-store.ts";
import { type BenchPlan, FULL_PLAN, QUICK_PLAN } from "./bench-plan.ts";
import { type BenchTarget, pgliteTarget, postgresTarget } from "./bench-targets.ts";
import { describeDatabase } from "./describe-database.ts";
import { describeSource } from "./describe-source.ts";
import { benchStepOverhead } from "./durable-step-overhead.ts";
import { benchStepsThroughput } from "./durable-steps-throughput.ts";
import { benchJournalAppend } from "./journal-append.ts";
import { type CpuShare, cpuShare, snapshotCpu } from "./machine-cpu.ts";
import { benchRawInsert } from "./raw-insert-baseline.ts";
import { formatStoreReport, judgeTargets, type StoreResults } from "./store-report.ts";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    json: { type: "string" },
    store: { type: "string", multiple: true },
  },
});
const plan = values.quick ? QUICK_PLAN : FULL_PLAN;
const stores = values.store ?? ["pglite", "postgres"];
for (const store of stores) {
  if (store !== "pglite" && store !== "postgres")
    throw new Error(`--store must be pglite or postgres, not ${store}`);
}

const machine = {
  cpus: availableParallelism(),
  cpuModel: cpus()[0]?.model ?? "unknown",
  node: process.version,
  pglite: JSON.parse(
    await readFile(new URL("../node_modules/@electric-sql/pglite/package.json", import.meta.url), "utf8"),
  ).version as string,
};
const source = describeSource();
const command = `node bench/run.ts ${process.argv.slice(2).join(" ")}`.trim();
console.log(`keel bench (${values.quick ? "quick smoke run: figures too noisy to quote" : "full run"})`);
console.log(`${machine.cpus} CPUs (${machine.cpuModel}), Node ${machine.node}, PGlite ${machine.pglite}`);
console.log(
  `source: commit ${source.commit}${source.uncommitted.length > 0 ? ` plus uncommitted changes to ${source.uncommitted.join(", ")}` : ""}`,
);
console.log(
  `load average at start: ${loadavg()
    .map((value) => value.toFixed(2))
    .join(" ")} (1, 5, 15 min)`,
);

const started = performance.now();
const results: StoreResults[] = [];
for (const kind of stores) {
  const target = kind === "pglite" ? pgliteTarget() : await postgresTarget(process.env.DATABASE_URL);
  try {
    const storeResults = await benchTarget(target, plan);
    results.push(storeResults);
    console.log(`\n${formatStoreReport(storeResults)}`);
  } finally {
    await target.close();
  }
}
const elapsedSeconds = (performance.now() - started) / 1_000;
console.log(`\ndone in ${elapsedSeconds.toFixed(0)} s`);

if (values.json) {
  await mkdir(dirname(values.json), { recursive: true });
  const targets = Object.fromEntries(results.map((entry) => [entry.store, judgeTargets(entry)]));
  await writeFile(
    values.json,
    `${JSON.stringify({ command, machine, source, plan, elapsedSeconds, results, targets }, null, 2)}\n`,
  );
  console.log(`raw results written to ${values.json}`);
}

/** Run every benchmark on one store implementation, each on a fresh store. */
async function benchTarget(target: BenchTarget, plan: BenchPlan): Promise<StoreResults> {
  const cpu: Record<string, CpuShare> = {};
  const measure = async <T>(name: string, work: (store: SqlStore) => Promise<T>): Promise<T> => {
    console.log(`[${target.kind}] ${name}…`);
    const opened = await target.openStore();
    // Flush what earlier benchmarks left dirty (PGlite writes without fsync), so its writeback does not land
    // on this benchmark's commits and every benchmark starts from the same state of the disk.
    execFileSync("sync");
    try {
      const before = snapshotCpu(target.serverPort);
      const result = await work(opened.store);
      cpu[name] = cpuShare(before, snapshotCpu(target.serverPort));
      return result;
    } finally {
      await opened.dispose();
    }
  };
  const throughput = {
    sequential: plan.sequential,
    concurrency: plan.concurrency,
    warmupMs: plan.warmupMs,
    measureMs: plan.measureMs,
  };
  const { database, rawInsert } = await measure("raw INSERT baseline", async (store) => ({
    database: await describeDatabase(store.sql),
    rawInsert: await benchRawInsert(store, throughput),
  }));
  const journalAppend = await measure(
    "journal append",
    async (store) => await benchJournalAppend(store, throughput),
  );
  const stepOverhead = await measure(
    "durable per-step overhead",
    async (store) => await benchStepOverhead(store, plan.stepOverhead),
  );
  const stepsThroughput = await measure("durable steps/s", async (store) => {
    await benchStepsThroughput(store, plan.throughputWarmup);
    const measured = [];
    for (const runs of plan.concurrency) {
      measured.push(await benchStepsThroughput(store, { runs, stepsPerRun: plan.stepsPerRun }));
    }
    return measured;
  });
  return {
    store: target.kind,
    where: target.where,
    database,
    rawInsert,
    journalAppend,
    stepOverhead,
    stepsThroughput,
    cpu,
  };
}
