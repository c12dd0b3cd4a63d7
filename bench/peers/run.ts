/**
 * `npm run bench:peers [-- --quick] [-- --steps S] [-- --rounds N] [-- --json bench/out/peers.json]`: the same
 * agent loop — a scripted model asking for a trivial tool S−1 times, then answering — on Keel, DBOS Transact and
 * LangGraph.js (PostgresSaver, durability "sync"), each in its own database on one PostgreSQL this starts with
 * durable settings (fsync, synchronous_commit and full_page_writes on) and pg_stat_statements, next to a raw
 * single-row INSERT baseline on the same server. Each system runs in a process of its own; the systems take turns
 * phase by phase, their order rotating every round, so noise on the machine falls on all of them alike. Prints
 * (a) per-step p50/p95 one run at a time, (b) steps/s with many runs at once, both as ratios (Keel ÷ each peer,
 * each ÷ the baseline), and (c) statements, write commits and WAL per step from the server's own counters.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { startTemporaryPostgres } from "../../test/support/temporary-postgres.ts";
import { describeSource } from "../describe-source.ts";
import { announceMachine, cpuShare, loadAverage, snapshotCpu } from "../machine-cpu.ts";
import { type PeerProcess, startPeerProcess } from "./peer-processes.ts";
import { formatReport, type PhaseRecord, summarize } from "./peer-report.ts";
import { PEER_NAMES, type PeerName, type PeerPlan, type PhaseKind } from "./peer-system.ts";
import {
  committedTransactions,
  countersBetween,
  enableStatementStatistics,
  markServer,
  resetStatements,
} from "./server-counters.ts";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    steps: { type: "string" },
    rounds: { type: "string" },
    json: { type: "string" },
  },
});
const FULL_PLAN: PeerPlan = {
  toolSteps: 9,
  sequentialRuns: 16,
  concurrentRuns: 64,
  rawRows: 400,
  rawMeasureMs: 2_000,
  warmupSequentialRuns: 3,
  warmupConcurrentRuns: 64,
  rounds: 6,
};
const QUICK_PLAN: PeerPlan = {
  toolSteps: 9,
  sequentialRuns: 3,
  concurrentRuns: 64,
  rawRows: 100,
  rawMeasureMs: 500,
  warmupSequentialRuns: 1,
  warmupConcurrentRuns: 16,
  rounds: 1,
};
const plan: PeerPlan = { ...(values.quick ? QUICK_PLAN : FULL_PLAN) };
if (values.steps !== undefined) plan.toolSteps = positiveInteger("--steps", values.steps) - 1;
if (values.rounds !== undefined) plan.rounds = positiveInteger("--rounds", values.rounds);
if (plan.toolSteps < 2)
  throw new Error("--steps must be at least 3: a run needs two tool calls to time a step");
/** Committed-transaction counts lag up to 10 s behind in PostgreSQL 15; a full run waits that out to read them. */
const STATISTICS_SETTLE_MS = 11_000;

const command = `npm run bench:peers${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
const machineStart = announceMachine(
  `keel peer bench (${values.quick ? "quick smoke run: figures too noisy to quote" : "full run"})`,
);
const loadAtStart = loadAverage();
const source = describeSource();
const versions = {
  keel: `commit ${source.commit}${source.uncommitted.length > 0 ? ` plus uncommitted changes to ${source.uncommitted.join(", ")}` : ""}`,
  dbos: await packageVersion("@dbos-inc/dbos-sdk"),
  langgraph: await packageVersion("@langchain/langgraph"),
  checkpointPostgres: await packageVersion("@langchain/langgraph-checkpoint-postgres"),
  langchainCore: await packageVersion("@langchain/core"),
  pg: await packageVersion("pg"),
};
console.log(`Keel ${versions.keel}`);
console.log(
  `DBOS Transact ${versions.dbos}; LangGraph.js ${versions.langgraph} with langgraph-checkpoint-postgres ${versions.checkpointPostgres} and @langchain/core ${versions.langchainCore}; node-postgres ${versions.pg}`,
);
console.log(
  `workload: ${plan.toolSteps + 1} model turns per run (${plan.toolSteps} tool calls, then an answer); ${plan.rounds} round(s) after an untimed warm-up round; per round and system: ${plan.sequentialRuns} runs one at a time, then ${plan.concurrentRuns} runs at once; baseline: ${plan.rawRows} INSERTs one at a time, ${plan.concurrentRuns} callers for ${plan.rawMeasureMs} ms`,
);

const DATABASES: Record<PeerName, string> = {
  keel: "peer_keel",
  dbos: "peer_dbos",
  langgraph: "peer_langgraph",
  "raw-insert": "peer_raw_insert",
};
const server = await startTemporaryPostgres({
  durable: true,
  settings: { shared_preload_libraries: "pg_stat_statements" },
});
const serverPort = Number(new URL(server.url).port);
const admin = new pg.Client({ connectionString: server.url });
const peers: PeerProcess[] = [];
try {
  await admin.connect();
  await enableStatementStatistics(admin);
  const database = await describeServer(admin);
  console.log(
    `PostgreSQL ${database.version} (temporary local server, loopback TCP): ${Object.entries(
      database.settings,
    )
      .map(([name, value]) => `${name}=${value}`)
      .join(", ")}`,
  );
  const urls = {} as Record<PeerName, string>;
  for (const name of PEER_NAMES) {
    await admin.query(`CREATE DATABASE ${DATABASES[name]}`);
    const url = new URL(server.url);
    url.pathname = `/${DATABASES[name]}`;
    urls[name] = url.toString();
  }
  for (const name of PEER_NAMES) peers.push(await startPeerProcess(name, urls[name], plan));
  const checkpointsBefore = await checkpointCount(admin);

  const records: PhaseRecord[] = [];
  const runPhase = async (peer: PeerProcess, kind: PhaseKind, round: number) => {
    const count = countFor(peer.name, kind, round);
    await resetStatements(admin);
    const before = await markServer(admin);
    const cpuBefore = snapshotCpu(serverPort);
    const outcome = await peer.phase(kind, count);
    const cpuAfter = snapshotCpu(serverPort);
    const after = await markServer(admin);
    if (round === 0) return;
    const counters = await countersBetween(admin, DATABASES[peer.name], before, after);
    const share = cpuShare(cpuBefore, cpuAfter);
    const systemPercent = (outcome.cpuMs / ((cpuAfter.at - cpuBefore.at) * availableParallelism())) * 100;
    records.push({
      round,
      system: peer.name,
      kind,
      outcome,
      counters,
      cpu: {
        systemPercent,
        serverPercent: share.serverPercent,
        otherPercent: share.otherPercent === null ? null : Math.max(0, share.otherPercent - systemPercent),
      },
    });
  };

  console.log("\nwarm-up round (not counted)…");
  for (const kind of ["sequential", "concurrent"] as const) {
    for (const peer of peers) await runPhase(peer, kind, 0);
  }
  const commitsBefore = values.quick ? null : await settledCommits(admin);
  for (let round = 1; round <= plan.rounds; round += 1) {
    const order = peers.map((_, index) => peers[(index + round - 1) % peers.length]!);
    console.log(`round ${round} of ${plan.rounds}: ${order.map((peer) => peer.name).join(", ")}…`);
    for (const kind of ["sequential", "concurrent"] as const) {
      for (const peer of order) await runPhase(peer, kind, round);
    }
  }
  const commitsAfter = values.quick ? null : await settledCommits(admin);
  const checkpoints = (await checkpointCount(admin)) - checkpointsBefore;

  const summaries = PEER_NAMES.map((name) => summarize(name, records));
  const commitsPerOperation =
    commitsBefore && commitsAfter
      ? new Map(
          summaries.map((summary) => [
            summary.system,
            ((commitsAfter.get(summary.system) ?? 0) - (commitsBefore.get(summary.system) ?? 0)) /
              (summary.executed.sequential + summary.executed.concurrent),
          ]),
        )
      : null;

  console.log("\nchecked after the rounds:");
  for (const peer of peers) console.log(`  ${peer.name}: ${await peer.verify()}`);
  for (const peer of peers) console.log(`  ${peer.name}: ${Object.values(peer.describe).join("; ")}`);
  console.log(`  checkpoints during the benchmark: ${checkpoints}`);

  console.log(`\n${formatReport(summaries, { concurrentRuns: plan.concurrentRuns, commitsPerOperation })}`);
  const whole = cpuShare(machineStart, snapshotCpu(null));
  const loadAtEnd = loadAverage();
  console.log(
    `\nmachine CPU over the whole benchmark: ${whole.machinePercent?.toFixed(0) ?? "?"}% of all cores; load average at start ${loadAtStart}, at end ${loadAtEnd} (1, 5, 15 min)`,
  );
  console.log(`command: ${command}`);

  if (values.json) {
    await mkdir(dirname(values.json), { recursive: true });
    await writeFile(
      values.json,
      `${JSON.stringify(
        {
          command,
          plan,
          versions,
          database,
          loadAtStart,
          loadAtEnd,
          checkpoints,
          commitsPerOperation: commitsPerOperation ? Object.fromEntries(commitsPerOperation) : null,
          summaries,
          records,
        },
        null,
        2,
      )}\n`,
    );
    console.log(`raw results written to ${values.json}`);
  }
  for (const peer of peers) await peer.close();
} finally {
  for (const peer of peers) peer.kill();
  await admin.end().catch(() => undefined);
  await server.stop();
}

/** Runs per phase; for the baseline, rows one at a time and callers at once. */
function countFor(name: PeerName, kind: PhaseKind, round: number): number {
  const warmup = round === 0;
  if (kind === "sequential") {
    if (name === "raw-insert") return warmup ? Math.ceil(plan.rawRows / 4) : plan.rawRows;
    return warmup ? plan.warmupSequentialRuns : plan.sequentialRuns;
  }
  return warmup ? plan.warmupConcurrentRuns : plan.concurrentRuns;
}

/** Committed transactions per system's database once every backend has reported what it did. */
async function settledCommits(client: pg.Client): Promise<Map<PeerName, number>> {
  await new Promise((resolve) => setTimeout(resolve, STATISTICS_SETTLE_MS));
  const byDatabase = await committedTransactions(client, Object.values(DATABASES));
  return new Map(PEER_NAMES.map((name) => [name, byDatabase.get(DATABASES[name]) ?? 0]));
}

async function describeServer(
  client: pg.Client,
): Promise<{ version: string; settings: Record<string, string> }> {
  const names = [
    "fsync",
    "synchronous_commit",
    "full_page_writes",
    "wal_sync_method",
    "commit_delay",
    "shared_buffers",
    "max_wal_size",
    "checkpoint_timeout",
    "shared_preload_libraries",
  ];
  const { rows } = await client.query<{ name: string; setting: string; unit: string | null }>(
    "SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1)",
    [names],
  );
  const version = await client.query<{ server_version: string }>("SHOW server_version");
  const settings: Record<string, string> = {};
  for (const name of names) {
    const row = rows.find((candidate) => candidate.name === name);
    settings[name] = row ? `${row.setting}${row.unit ? ` (×${row.unit})` : ""}` : "?";
  }
  return { version: version.rows[0]?.server_version ?? "?", settings };
}

async function checkpointCount(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ checkpoints: string }>(
    "SELECT (checkpoints_timed + checkpoints_req)::text AS checkpoints FROM pg_stat_bgwriter",
  );
  return Number(rows[0]?.checkpoints ?? 0);
}

async function packageVersion(name: string): Promise<string> {
  const file = new URL(`../../node_modules/${name}/package.json`, import.meta.url);
  return (JSON.parse(await readFile(file, "utf8")) as { version: string }).version;
}

function positiveInteger(flag: string, value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1)
    throw new Error(`${flag} must be a positive integer, not ${value}`);
  return parsed;
}
