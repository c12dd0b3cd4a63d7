/**
 * Diagnostic, not one of the benchmarks `run.ts` reports: where a journal append's time goes on durable
 * PostgreSQL. Run it on its own (`node bench/append-statement-profile.ts [--quick]`). It times every statement
 * the store sends, for appends one at a time and for 64 runs appending at once, reads PostgreSQL's
 * HOT-update counters for `keel_runs`, and repeats everything on a database where the index on
 * `keel_runs (status, updated_at)` was dropped — a variant the store does not ship — to show what the
 * non-HOT update of the run row on every append costs.
 */
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import pg from "pg";
import { PostgresStore } from "../src/store/postgres-store.ts";
import { startTemporaryPostgres } from "../test/support/temporary-postgres.ts";
import { benchEvent } from "./bench-event.ts";
import { formatTable, ms, rate } from "./format-table.ts";
import { leasedRuns } from "./leased-runs.ts";
import { summarizeLatencies } from "./summarize-latencies.ts";
import { timeConcurrent, timeSequential } from "./time-operations.ts";

const { values } = parseArgs({ options: { quick: { type: "boolean", default: false } } });
const sizes = values.quick
  ? { sequential: { warmup: 50, measured: 300 }, warmupMs: 300, measureMs: 1_000 }
  : { sequential: { warmup: 300, measured: 3_000 }, warmupMs: 1_000, measureMs: 5_000 };
const CONCURRENCY = 64;

/** Short names for the statements of one group commit (commit-appends.ts), in the order they are sent. */
const STATEMENTS: readonly [RegExp, string][] = [
  [/^BEGIN/, "BEGIN"],
  [/FOR UPDATE/, "lock run heads (SELECT … FOR UPDATE)"],
  [/^INSERT INTO keel_event_batches/, "insert events (INSERT … unnest)"],
  [/^UPDATE keel_runs AS r/, "update run heads (UPDATE … unnest)"],
  [/pg_notify\('keel_events'/, "notify (SELECT pg_notify)"],
  [/^COMMIT/, "COMMIT (WAL flush)"],
];

type Timings = Map<string, number[]>;
type Variant = { name: string; dropIndex: boolean };
type VariantResult = {
  variant: string;
  sequentialAppend: ReturnType<typeof summarizeLatencies>;
  sequentialStatements: Timings;
  eventsPerSecond: number;
  commits: number;
  concurrentStatements: Timings;
  updates: number;
  hotUpdates: number;
};

const server = await startTemporaryPostgres({ durable: true });
try {
  const results: VariantResult[] = [];
  for (const variant of [
    { name: "as shipped", dropIndex: false },
    { name: "without keel_runs (status, updated_at) index", dropIndex: true },
  ]) {
    results.push(await profileVariant(server.url, variant));
  }
  for (const result of results) console.log(`\n${report(result)}`);
} finally {
  await server.stop();
}

async function profileVariant(serverUrl: string, variant: Variant): Promise<VariantResult> {
  const name = `keel_profile_${randomBytes(4).toString("hex")}`;
  await administer(serverUrl, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString() });
  pool.on("error", () => undefined);
  let timings: Timings | null = null;
  timeStatements(pool, (sql, elapsed) => {
    const label = STATEMENTS.find(([pattern]) => pattern.test(sql))?.[1];
    if (!timings || !label) return;
    timings.set(label, [...(timings.get(label) ?? []), elapsed]);
  });
  const store = new PostgresStore(pool, { ownsPool: true });
  try {
    await store.migrate();
    if (variant.dropIndex) await store.sql.query("DROP INDEX keel_runs_status_updated_at_idx");
    const [single] = await leasedRuns(store, 1);
    const sequentialStatements: Timings = new Map();
    const samples = await timeSequential(sizes.sequential, async (index) => {
      if (index === sizes.sequential.warmup) timings = sequentialStatements;
      await store.append({ lease: single!, events: [benchEvent(index)] });
    });
    timings = null;
    const leases = await leasedRuns(store, CONCURRENCY);
    const concurrentStatements: Timings = new Map();
    let before = store.stats;
    const throughput = await timeConcurrent({
      concurrency: CONCURRENCY,
      warmupMs: sizes.warmupMs,
      measureMs: sizes.measureMs,
      onMeasureStart: () => {
        before = store.stats;
        timings = concurrentStatements;
      },
      operation: async (lane, index) => {
        await store.append({ lease: leases[lane]!, events: [benchEvent(index)] });
      },
    });
    timings = null;
    const commits = store.stats.commits - before.commits;
    // Backends report their table counters when they exit, so read them once the pool is gone.
    await store.close();
    const { updates, hotUpdates } = await updateCounters(url.toString());
    return {
      variant: variant.name,
      sequentialAppend: summarizeLatencies(samples),
      sequentialStatements,
      eventsPerSecond: throughput.perSecond,
      commits,
      concurrentStatements,
      updates,
      hotUpdates,
    };
  } finally {
    await store.close();
    await administer(serverUrl, `DROP DATABASE ${name}`);
  }
}

/** Record how long each statement took on every connection the pool opens, whichever way it was called. */
function timeStatements(pool: pg.Pool, record: (sql: string, elapsedMs: number) => void): void {
  pool.on("connect", (client) => {
    const original = client.query.bind(client) as (...args: unknown[]) => unknown;
    const timed = (...args: unknown[]): unknown => {
      const first = args[0];
      const sql = (typeof first === "string" ? first : ((first as { text?: string } | undefined)?.text ?? ""))
        .replace(/\s+/g, " ")
        .trim();
      const started = performance.now();
      const callback = args.at(-1);
      if (typeof callback === "function") {
        args[args.length - 1] = (...results: unknown[]) => {
          record(sql, performance.now() - started);
          (callback as (...results: unknown[]) => void)(...results);
        };
        return original(...args);
      }
      const result = original(...args);
      if (result instanceof Promise) {
        result.then(
          () => record(sql, performance.now() - started),
          () => undefined,
        );
      }
      return result;
    };
    Object.assign(client, { query: timed });
  });
}

async function updateCounters(databaseUrl: string): Promise<{ updates: number; hotUpdates: number }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query("SELECT pg_sleep(0.5)");
    const { rows } = await client.query<{ updates: string; hot: string }>(
      "SELECT n_tup_upd AS updates, n_tup_hot_upd AS hot FROM pg_stat_user_tables WHERE relname = 'keel_runs'",
    );
    return { updates: Number(rows[0]?.updates ?? 0), hotUpdates: Number(rows[0]?.hot ?? 0) };
  } finally {
    await client.end();
  }
}

async function administer(serverUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

function report(result: VariantResult): string {
  const rows = (timings: Timings) =>
    STATEMENTS.map(([, label]) => {
      const samples = timings.get(label);
      return samples ? summarizeLatencies(samples).p50 : 0;
    });
  const sequential = rows(result.sequentialStatements);
  const concurrent = rows(result.concurrentStatements);
  const table = STATEMENTS.map(([, label], index) => [label, ms(sequential[index]!), ms(concurrent[index]!)]);
  const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
  table.push(["sum of statement p50s", ms(sum(sequential)), ms(sum(concurrent))]);
  return [
    `## ${result.variant}`,
    `append one at a time: p50 ${ms(result.sequentialAppend.p50)} ms, p95 ${ms(result.sequentialAppend.p95)} ms`,
    `${CONCURRENCY} runs at once: ${rate(result.eventsPerSecond, "events/s")}, ${result.commits} commits`,
    `keel_runs updates: ${result.updates}, of them HOT: ${result.hotUpdates}`,
    "",
    formatTable(["statement (p50 ms)", "one at a time", `${CONCURRENCY} runs at once`], table),
  ].join("\n");
}
