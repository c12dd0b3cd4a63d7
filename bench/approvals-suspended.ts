/**
 * `node --expose-gc bench/approvals-suspended.ts [--runs 100000] [--decisions 1000] [--store pglite|postgres]
 * [--json bench/out/approvals.json]`: drive `--runs` runs of a governed agent until each is suspended waiting for
 * approval, sampling the worker process's memory as the count grows (it should stay flat: a suspended run lives
 * only in the store), report the store's bytes per suspended run, then approve `--decisions` of them one at a
 * time over the HTTP API and time each from the API call to the held tool call starting.
 * `--client process` (the default) sends the requests from a child process, as a person's client is another
 * process; `--client in-process` sends them from this one, whose event loop then also runs the client's `fetch`
 * (how the figures before 2026-12-07 were taken).
 */

import { fork } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { type ServerType, serve } from "@hono/node-server";
import { createAgentCatalog } from "../src/runtime/agent-catalog.ts";
import { startRun } from "../src/runtime/start-run.ts";
import { createWorker } from "../src/runtime/worker.ts";
import { createApp } from "../src/server/create-app.ts";
import { openStore } from "../src/store/open-store.ts";
import { approvalsBenchAgent } from "./approvals-fixtures.ts";
import { type BenchTarget, pgliteTarget, postgresTarget } from "./bench-targets.ts";
import { cpuShare, snapshotCpu } from "./machine-cpu.ts";
import { summarizeLatencies } from "./summarize-latencies.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "100000" },
    decisions: { type: "string", default: "1000" },
    store: { type: "string", default: "pglite" },
    concurrency: { type: "string", default: "64" },
    json: { type: "string" },
    client: { type: "string", default: "process" },
  },
});
if (values.client !== "process" && values.client !== "in-process") {
  throw new Error(`--client must be process or in-process, got ${values.client}`);
}
const runs = Number(values.runs);
const decisions = Math.min(Number(values.decisions), runs);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with node --expose-gc so memory samples are taken after a full collection");

const target =
  values.store === "postgres"
    ? await postgresTarget(process.env.DATABASE_URL)
    : values.store === "memory"
      ? memoryTarget()
      : pgliteTarget();
const { store, dispose } = await target.openStore();
const toolStarts = new Map<string, (at: number) => void>();
const { agent, governor } = await approvalsBenchAgent({
  onToolStart: (runId) => toolStarts.get(runId)?.(performance.now()),
});
const worker = createWorker({
  store,
  agents: (name, version) => (name === agent.name && version === agent.version ? agent : undefined),
  governor,
  owner: `${hostname()}:${process.pid}:bench`,
  concurrency: Number(values.concurrency),
  claimAgents: [agent.name],
});
worker.start();

type MemorySample = {
  suspended: number;
  heapUsedMiB: number;
  rssMiB: number;
  externalMiB: number;
  activeRuns: number;
};
const samples: MemorySample[] = [];
const mib = (bytes: number) => Math.round((bytes / 1_048_576) * 10) / 10;
async function sample(suspended: number): Promise<void> {
  for (let i = 0; i < 200 && worker.activeRuns > 0; i++)
    await new Promise((resolve) => setTimeout(resolve, 10));
  gc!();
  const memory = process.memoryUsage();
  samples.push({
    suspended,
    heapUsedMiB: mib(memory.heapUsed),
    rssMiB: mib(memory.rss),
    externalMiB: mib(memory.external),
    activeRuns: worker.activeRuns,
  });
  console.log(
    `  ${suspended.toLocaleString("en")} suspended: JS heap ${mib(memory.heapUsed)} MiB, RSS ${mib(memory.rss)} MiB, runs held by the worker ${worker.activeRuns}`,
  );
}

async function countSuspended(): Promise<number> {
  const { rows } = await store.sql.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM keel_runs WHERE agent = $1 AND status = 'suspended'",
    [agent.name],
  );
  return rows[0]!.n;
}

console.log(
  `approvals benchmark on ${target.kind} (${target.where}): ${runs.toLocaleString("en")} runs, ${decisions} decisions, client ${values.client === "process" ? "in its own process" : "in this process"}`,
);
await sample(0);
const loadStarted = performance.now();
const checkpoint = Math.max(1, Math.floor(runs / 10));
let created = 0;
const inFlight = new Set<Promise<void>>();
for (let i = 0; i < runs; i++) {
  const creating = startRun({
    store,
    agent,
    input: `Please refund order ${1000 + (i % 9000)}`,
    principal: { subject: `customer-${i % 5000}@example.com`, tenant: "default", roles: ["customer"] },
  }).then(() => {
    created += 1;
  });
  inFlight.add(creating);
  void creating.finally(() => inFlight.delete(creating));
  if (inFlight.size >= 32) await Promise.race(inFlight);
  if ((i + 1) % 256 === 0) worker.poke();
  // Keep the backlog of queued runs bounded so the sample reflects suspended runs, not a queue.
  if ((i + 1) % checkpoint === 0) {
    await Promise.all(inFlight);
    worker.poke();
    while ((await countSuspended()) < i + 1) await new Promise((resolve) => setTimeout(resolve, 50));
    await sample(i + 1);
  }
}
await Promise.all(inFlight);
while ((await countSuspended()) < runs) await new Promise((resolve) => setTimeout(resolve, 50));
const loadSeconds = (performance.now() - loadStarted) / 1_000;
console.log(
  `  ${created.toLocaleString("en")} runs suspended in ${loadSeconds.toFixed(0)} s (${Math.round(runs / loadSeconds)} runs/s)`,
);

const { rows: sizes } = await store.sql.query<{ name: string; bytes: string }>(
  `SELECT name, pg_total_relation_size(name)::text AS bytes
     FROM unnest(ARRAY['keel_runs', 'keel_event_batches', 'keel_approvals']) AS name`,
);
const bytes = Object.fromEntries(sizes.map((row) => [row.name, Number(row.bytes)]));
const totalBytes = Object.values(bytes).reduce((sum, value) => sum + value, 0);
const { rows: eventCounts } = await store.sql.query<{ n: number }>(
  "SELECT count(*)::int AS n FROM keel_events",
);
console.log(
  `  store: ${Math.round(totalBytes / runs)} bytes per suspended run (runs ${Math.round(bytes.keel_runs! / runs)}, events ${Math.round(bytes.keel_event_batches! / runs)}, approvals ${Math.round(bytes.keel_approvals! / runs)}; ${(eventCounts[0]!.n / runs).toFixed(1)} events per run, indexes included)`,
);

// Decisions over HTTP on loopback, one at a time: the time from the call to the held refund starting.
const app = createApp({ store, agents: createAgentCatalog([agent]), worker, log: () => undefined });
const server = await new Promise<ServerType>((resolve) => {
  const created = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(created));
});
const address = server.address();
const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
const pending = await store.listApprovals({
  status: "pending",
  routeTo: "support-leads",
  agent: agent.name,
  limit: decisions,
});
const client = values.client === "process" ? await clientProcess() : { send: inProcessClient, close() {} };
const send = client.send;
const toNextStep: number[] = [];
const toResponse: number[] = [];
const decisionCpu = snapshotCpu(target.serverPort);
const warmUp = Math.min(50, Math.floor(pending.length / 10));
for (const [index, approval] of pending.entries()) {
  const started = new Promise<number>((resolve) => toolStarts.set(approval.runId, resolve));
  // Taken before the request is handed to the client: with a client process the hand-over counts against Keel.
  const t0 = performance.now();
  const response = await send({
    url: `${url}/v1/approvals/${approval.approvalId}/decision`,
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-keel-subject": "lee@example.com",
      "x-keel-roles": "approver:support-leads",
    },
    body: JSON.stringify({ decision: "approve", argumentsHash: approval.argumentsHash }),
  });
  if (response.status !== 200)
    throw new Error(`decision ${approval.approvalId}: ${response.status} ${response.text}`);
  const toolStarted = await started;
  toolStarts.delete(approval.runId);
  // One decision at a time on an otherwise idle system: let this run finish before the next call.
  await untilEnded(approval.runId);
  if (index >= warmUp) {
    toNextStep.push(toolStarted - t0);
    toResponse.push(response.ms);
  }
}
const decisionShare = cpuShare(decisionCpu, snapshotCpu(target.serverPort));

// Baseline in the same run: the floor of one HTTP round trip to the same server that reads one run.
const toRead: number[] = [];
for (const [index, approval] of pending.entries()) {
  const response = await send({ url: `${url}/v1/runs/${approval.runId}`, method: "GET" });
  if (response.status !== 200) throw new Error(`read ${approval.runId}: ${response.status} ${response.text}`);
  if (index >= warmUp) toRead.push(response.ms);
}
client.close();
const nextStep = summarizeLatencies(toNextStep);
const responded = summarizeLatencies(toResponse);
const read = summarizeLatencies(toRead);
const fmt = (value: number) => value.toFixed(2);
console.log(
  `  approval API call → held tool call starts: p50 ${fmt(nextStep.p50)} ms, p95 ${fmt(nextStep.p95)} ms, p99 ${fmt(nextStep.p99)} ms (${nextStep.count} decisions after ${warmUp} warm-up, ${(runs - 0).toLocaleString("en")} runs in the store)`,
);
console.log(
  `  approval API response: p50 ${fmt(responded.p50)} ms, p95 ${fmt(responded.p95)} ms, p99 ${fmt(responded.p99)} ms`,
);
console.log(
  `  baseline GET /v1/runs/{id} on the same server: p50 ${fmt(read.p50)} ms, p95 ${fmt(read.p95)} ms (approval → next step is ${(nextStep.p50 / read.p50).toFixed(1)}× its p50)`,
);
console.log(
  `  CPU while deciding: machine ${decisionShare.machinePercent?.toFixed(0) ?? "?"}%, this process ${decisionShare.processPercent.toFixed(0)}%, other work ${decisionShare.otherPercent?.toFixed(0) ?? "?"}%`,
);
await sample(runs - pending.length);

await new Promise<void>((resolve) => server.close(() => resolve()));
await worker.stop();
governor.close();
const first = samples.find((each) => each.suspended > 0);
const last = samples.at(-2);
const result = {
  store: target.kind,
  runs,
  loadSeconds,
  memory: samples,
  heapGrowthMiB: first && last ? Math.round((last.heapUsedMiB - first.heapUsedMiB) * 10) / 10 : null,
  storeBytes: bytes,
  bytesPerSuspendedRun: Math.round(totalBytes / runs),
  eventsPerRun: eventCounts[0]!.n / runs,
  approvalToNextStepMs: nextStep,
  approvalResponseMs: responded,
  baselineRunReadMs: read,
  decisionCpu: decisionShare,
};
console.log(`  JS heap from the first to the last sample: ${result.heapGrowthMiB} MiB`);
if (values.json) {
  await mkdir(dirname(values.json), { recursive: true });
  await writeFile(values.json, `${JSON.stringify(result, null, 2)}\n`);
}
await dispose();
await target.close();

type ClientRequest = { url: string; method: "GET" | "POST"; headers?: Record<string, string>; body?: string };
type ClientAnswer = { status: number; text: string; ms: number };

/** Send one request from this process; `ms` is its round trip as this process saw it. */
async function inProcessClient(request: ClientRequest): Promise<ClientAnswer> {
  const t0 = performance.now();
  const response = await fetch(request.url, {
    method: request.method,
    ...(request.headers ? { headers: request.headers } : {}),
    ...(request.body === undefined ? {} : { body: request.body }),
  });
  const answered = performance.now() - t0;
  return { status: response.status, text: await response.text(), ms: answered };
}

/** Start `approvals-client.ts`; each `send` hands it one request and resolves with its answer. */
async function clientProcess(): Promise<{
  send: (request: ClientRequest) => Promise<ClientAnswer>;
  close: () => void;
}> {
  const child = fork(new URL("./approvals-client.ts", import.meta.url).pathname, [], { stdio: "inherit" });
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", () => resolve());
    child.once("error", reject);
  });
  let waiting: ((answer: ClientAnswer) => void) | null = null;
  child.on("message", (answer: ClientAnswer) => waiting?.(answer));
  return {
    send: async (request) =>
      await new Promise<ClientAnswer>((resolve) => {
        waiting = resolve;
        child.send(request);
      }),
    // The IPC channel keeps this process alive until it is closed.
    close: () => child.disconnect(),
  };
}

async function untilEnded(runId: string): Promise<void> {
  for (;;) {
    const run = await store.getRun(runId);
    if (run && !["queued", "running"].includes(run.status) && worker.activeRuns === 0) return;
    if (run?.status === "running" || run?.status === "queued") {
      await store.waitForEvents({ runId, afterSeq: run.lastSeq, timeoutMs: 50 });
    } else {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
}

/** PGlite in memory: the embedded store without its file system, to separate the database from the disk. */
function memoryTarget(): BenchTarget {
  return {
    kind: "pglite",
    where: "in memory",
    serverPort: null,
    async openStore() {
      const store = await openStore({});
      return { store, dispose: async () => await store.close() };
    },
    async close() {},
  };
}
