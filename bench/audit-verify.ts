/**
 * `node bench/audit-verify.ts [--events 1000000] [--new-events 10000] [--store pglite|postgres|none …] [--threads 2]
 * [--appends false]`: how fast the audit log verifies, against a baseline measured in the same run.
 *
 * - Baseline: one SHA-256 per leaf over the same leaf bytes (`crypto.hash`, the digest as a latin1 string as the
 *   verifier takes it: a Buffer digest costs about as much again), nothing else.
 * - In memory: `verifyAuditLog` over rows already read (what `keel audit verify` does after reading): every
 *   payload canonicalised and hashed, every link hash, every RFC 6962 leaf and node, each run's chain, every
 *   checkpoint's root and Ed25519 signature; inline and on worker threads.
 * - From the store: the same rows written to PGlite and/or PostgreSQL, then read alone (the floor of any verify)
 *   and verified end to end (`verifyStoreAuditLog`, reading and hashing overlapped): in full, leaving a signed
 *   verification record, then — after `--new-events` more events and their checkpoints are written — incrementally
 *   from that record (what `keel audit verify` does by default), and once more in full over everything.
 * - Appends with the background checkpointer on its default schedule (1,000 events or 10 s), against appends
 *   without it.
 */
import { generateKeyPairSync, hash } from "node:crypto";
import { availableParallelism, cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { encodeLeaf } from "../src/journal/audit/audit-leaf.ts";
import {
  auditKeyId,
  CHECKPOINT_FORMAT,
  rawPublicKey,
  type SignedCheckpoint,
  signCheckpoint,
} from "../src/journal/audit/checkpoint.ts";
import { fastCanonicalJson } from "../src/journal/audit/fast-canonical-json.ts";
import { auditLeafOfRow, type StoredLeafRow } from "../src/journal/audit/hash-leaf-page.ts";
import { hashLeaf } from "../src/journal/audit/merkle-hash.ts";
import { TreeFrontier } from "../src/journal/audit/merkle-tree.ts";
import { verifyAuditLog } from "../src/journal/audit/verify-audit-log.ts";
import { GENESIS_HASH, hashEvent } from "../src/journal/hash.ts";
import { DEFAULT_CHECKPOINT_SCHEDULE, startAuditCheckpoints } from "../src/store/audit-checkpoint-timer.ts";
import { type AuditSigner, loadAuditSigner } from "../src/store/audit-keys.ts";
import { leafPages, type StoredFrontier } from "../src/store/audit-log-queries.ts";
import type { SqlStore } from "../src/store/sql-store.ts";
import { createQueuedRun, stepStart } from "../src/store/store-contract-fixtures.ts";
import { verifyStoreAuditLog } from "../src/store/verify-store-audit-log.ts";
import { type BenchTarget, pgliteTarget, postgresTarget } from "./bench-targets.ts";
import { cpuShare, snapshotCpu } from "./machine-cpu.ts";

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "1000000" },
    store: { type: "string", multiple: true },
    threads: { type: "string", default: String(availableParallelism()) },
    "checkpoint-every": { type: "string", default: "1000" },
    "new-events": { type: "string", default: "10000" },
    appends: { type: "string", default: "true" },
  },
});
const NEW_EVENTS = Number(values["new-events"]);
const EVENTS = Number(values.events);
const THREADS = Number(values.threads);
const CHECKPOINT_EVERY = Number(values["checkpoint-every"]);
const RUN_SIZE = 25;

console.log(
  `keel audit verification bench: ${EVENTS.toLocaleString("en")} events, a checkpoint every ${CHECKPOINT_EVERY}`,
);
console.log(`${availableParallelism()} CPUs (${cpus()[0]?.model ?? "unknown"}), Node ${process.version}`);
console.log(
  `load average at start: ${loadavg()
    .map((value) => value.toFixed(2))
    .join(" ")} (1, 5, 15 min)`,
);

/**
 * A string as a driver hands it over: one flat sequence of characters. Strings built by concatenation are ropes,
 * and the first hash or copy of one spends longer flattening it than hashing it (1.3 s against 0.4 s for the
 * million leaves), which would be charged to whichever measurement touched it first.
 */
function flat(text: string): string {
  return Buffer.from(text, "utf8").toString("utf8");
}

/** A journal as stored: runs of RUN_SIZE events interleaved 64 at a time, chains intact, payloads ~200 bytes. */
function buildRows(count: number): StoredLeafRow[] {
  const rows: StoredLeafRow[] = [];
  const heads = new Map<string, { seq: number; hash: string }>();
  const start = Date.UTC(2026, 10, 21);
  for (let index = 0; index < count; index++) {
    const block = Math.floor(index / (64 * RUN_SIZE));
    const runId = `run_${block * 64 + (index % 64)}`;
    const head = heads.get(runId) ?? { seq: 0, hash: GENESIS_HASH };
    const payload = {
      step: head.seq + 1,
      callId: `call_${index}`,
      tool: "get_order",
      ok: index % 7 !== 0,
      result: {
        orderId: 1_000 + (index % 9_000),
        status: "shipped",
        items: [index % 3, index % 5],
        carrier: "UPS",
      },
      durationMs: index % 250,
    };
    const payloadJson = fastCanonicalJson(payload);
    const fields = {
      runId,
      seq: head.seq + 1,
      type: "tool-call-end",
      at: new Date(start + index).toISOString(),
      payloadHash: hash("sha256", payloadJson, "hex"),
      prevHash: head.hash,
    };
    const row = {
      ...fields,
      leafIndex: index,
      payloadJson: flat(payloadJson),
      schemaVersion: 1,
      hash: hashEvent(fields),
      leaseToken: 1,
    };
    rows.push(row);
    heads.set(runId, { seq: row.seq, hash: row.hash });
  }
  return rows;
}

type BenchCheckpoint = SignedCheckpoint & { treeSize: number; frontier: StoredFrontier };

function signCheckpoints(
  rows: readonly StoredLeafRow[],
  every: number,
): {
  checkpoints: BenchCheckpoint[];
  keys: Map<string, ReturnType<typeof generateKeyPairSync>["publicKey"]>;
  signer: AuditSigner;
} {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const keyId = auditKeyId(publicKey);
  const frontier = new TreeFrontier();
  const checkpoints: BenchCheckpoint[] = [];
  for (const row of rows) {
    frontier.append(hashLeaf(encodeLeaf(auditLeafOfRow(row).leaf)));
    if (frontier.size % every === 0 || frontier.size === EVENTS) {
      const { body, signature } = signCheckpoint(
        {
          format: CHECKPOINT_FORMAT,
          logId: "bench",
          treeSize: frontier.size,
          rootHash: frontier.root().toString("hex"),
          timestamp: new Date(Date.UTC(2026, 10, 21) + frontier.size).toISOString(),
          keyId,
        },
        privateKey,
      );
      const peaks = frontier.peaks.map(({ level, index, hash }) => ({
        level,
        index,
        hash: hash.toString("hex"),
      }));
      checkpoints.push({ body, signature, treeSize: frontier.size, frontier: peaks });
    }
  }
  return { checkpoints, keys: new Map([[keyId, publicKey]]), signer: { keyId, privateKey, publicKey } };
}

async function* pagesOf(rows: readonly StoredLeafRow[]): AsyncGenerator<StoredLeafRow[]> {
  for (let start = 0; start < rows.length; start += 8_192) yield rows.slice(start, start + 8_192);
}

async function timed<T>(work: () => Promise<T> | T): Promise<{
  seconds: number;
  cpuSeconds: number;
  cpuPercent: number;
  otherPercent: number | null;
  result: T;
}> {
  const before = snapshotCpu(null);
  const started = performance.now();
  const result = await work();
  const seconds = (performance.now() - started) / 1_000;
  const after = snapshotCpu(null);
  const share = cpuShare(before, after);
  // CPU time (this process and its worker threads): what the work costs, however busy the machine was.
  const cpuSeconds = (after.processMs - before.processMs) / 1_000;
  return { seconds, cpuSeconds, cpuPercent: share.processPercent, otherPercent: share.otherPercent, result };
}

function line(what: string, seconds: number, baseline: number, extra = ""): void {
  const rate = Math.round(EVENTS / seconds).toLocaleString("en");
  console.log(
    `  ${what.padEnd(58)} ${seconds.toFixed(2).padStart(7)} s  ${rate.padStart(11)} events/s  ${(seconds / baseline).toFixed(2).padStart(6)}× baseline ${extra}`,
  );
}

console.log("\nbuilding the journal in memory…");
const allRows = buildRows(EVENTS + NEW_EVENTS);
const rows = allRows.slice(0, EVENTS);
const newRows = allRows.slice(EVENTS);
const lines = rows.map((row) => flat(encodeLeaf(auditLeafOfRow(row).leaf)));
const signed = signCheckpoints(allRows, CHECKPOINT_EVERY);
const { keys, signer } = signed;
const checkpoints = signed.checkpoints.filter((checkpoint) => checkpoint.treeSize <= EVENTS);
const newCheckpoints = signed.checkpoints.filter((checkpoint) => checkpoint.treeSize > EVENTS);
console.log(
  `  ${rows.length.toLocaleString("en")} events in ${Math.ceil(EVENTS / RUN_SIZE).toLocaleString("en")} runs, ${(lines.reduce((sum, text) => sum + text.length, 0) / rows.length) | 0} leaf bytes on average, ${checkpoints.length} checkpoints`,
);

console.log("\nin memory (rows already read):");
const baseline = await timed(() => {
  let acc = 0;
  for (const text of lines) acc ^= hash("sha256", text, "binary").charCodeAt(0);
  return acc;
});
line(
  "baseline: SHA-256 of each leaf's bytes",
  baseline.seconds,
  baseline.seconds,
  `(CPU time ${baseline.cpuSeconds.toFixed(2)} s, CPU ${baseline.cpuPercent.toFixed(0)}%, other load ${baseline.otherPercent?.toFixed(0)}%)`,
);
for (const threads of [...new Set([0, THREADS])]) {
  const run = await timed(
    async () =>
      await verifyAuditLog({
        pages: pagesOf(rows),
        checkpoints,
        trustedKeys: keys,
        logId: "bench",
        expectedSize: EVENTS,
        threads,
      }),
  );
  if (!run.result.ok) throw new Error(`verification failed: ${JSON.stringify(run.result.problems)}`);
  line(
    `verifyAuditLog, ${threads === 0 ? "inline (one thread)" : `${threads} worker threads`}`,
    run.seconds,
    baseline.seconds,
    `(CPU time ${run.cpuSeconds.toFixed(2)} s, CPU ${run.cpuPercent.toFixed(0)}% of ${availableParallelism()} cores, other load ${run.otherPercent?.toFixed(0)}%)`,
  );
}

/**
 * Write rows (and their runs) straight into a migrated store, with checkpoints and the frontier beside each, as the
 * store holds them; a second call appends to the first.
 */
async function fillStore(
  store: SqlStore,
  rows: readonly StoredLeafRow[],
  checkpoints: readonly BenchCheckpoint[],
): Promise<void> {
  const runIds = [...new Set(rows.map((row) => row.runId))];
  const lastOf = new Map<string, StoredLeafRow>();
  for (const row of rows) lastOf.set(row.runId, row);
  for (let start = 0; start < runIds.length; start += 5_000) {
    const batch = runIds.slice(start, start + 5_000);
    await store.sql.query(
      `INSERT INTO keel_runs (run_id, agent, agent_version, status, input, principal, last_seq, last_hash)
       SELECT run_id, 'bench', '1.0.0', 'completed', 'input', '{"subject":"bench","tenant":"default","roles":[]}'::jsonb, last_seq, last_hash
         FROM unnest($1::text[], $2::int[], $3::text[]) AS r(run_id, last_seq, last_hash)
       ON CONFLICT (run_id) DO UPDATE SET last_seq = excluded.last_seq, last_hash = excluded.last_hash`,
      [batch, batch.map((runId) => lastOf.get(runId)!.seq), batch.map((runId) => lastOf.get(runId)!.hash)],
    );
  }
  for (let start = 0; start < rows.length; start += 10_000) {
    const batch = rows.slice(start, start + 10_000);
    await store.sql.query(
      // One batch row per event (migration 0025): the layout costliest to read, as a store migrated from 0024 has.
      `INSERT INTO keel_event_batches
         (run_id, first_seq, types, at, schema_version, payloads, payload_hashes, prev_hash, hashes, lease_token)
       SELECT run_id, seq, ARRAY[type], at::timestamptz, 1, '[' || payload || ']', decode(payload_hash, 'hex'),
              decode(prev_hash, 'hex'), decode(hash, 'hex'), 1
         FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
           AS e(run_id, seq, type, at, payload, payload_hash, prev_hash, hash)`,
      [
        batch.map((row) => row.runId),
        batch.map((row) => row.seq),
        batch.map((row) => row.type),
        batch.map((row) => row.at),
        batch.map((row) => row.payloadJson),
        batch.map((row) => row.payloadHash),
        batch.map((row) => row.prevHash),
        batch.map((row) => row.hash),
      ],
    );
  }
  // The leaf ranges the sequencer would have written: a run's stretch of consecutive leaves and seqs is one range.
  const ranges: { firstLeaf: number; runId: string; firstSeq: number; count: number }[] = [];
  for (const row of rows) {
    const last = ranges.at(-1);
    if (
      last &&
      last.runId === row.runId &&
      last.firstLeaf + last.count === row.leafIndex &&
      last.firstSeq + last.count === row.seq
    )
      last.count++;
    else ranges.push({ firstLeaf: row.leafIndex, runId: row.runId, firstSeq: row.seq, count: 1 });
  }
  for (let start = 0; start < ranges.length; start += 10_000) {
    const batch = ranges.slice(start, start + 10_000);
    await store.sql.query(
      `INSERT INTO keel_audit_ranges (first_leaf, run_id, first_seq, count)
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[], $4::int[])`,
      [
        batch.map((range) => range.firstLeaf),
        batch.map((range) => range.runId),
        batch.map((range) => range.firstSeq),
        batch.map((range) => range.count),
      ],
    );
  }
  await store.sql.query("UPDATE keel_audit_log SET size = $1, log_id = 'bench'", [
    rows.at(-1)!.leafIndex + 1,
  ]);
  await store.sql.query(
    "INSERT INTO keel_audit_keys (key_id, public_key) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    [signer.keyId, rawPublicKey(signer.publicKey).toString("base64")],
  );
  for (const checkpoint of checkpoints) {
    await store.sql.query(
      "INSERT INTO keel_audit_checkpoints (tree_size, body, signature, frontier) VALUES ($1, $2, $3, $4::text::jsonb)",
      [checkpoint.treeSize, checkpoint.body, checkpoint.signature, JSON.stringify(checkpoint.frontier)],
    );
  }
}

async function benchAppends(
  store: SqlStore,
  withCheckpoints: boolean,
  seconds: number,
): Promise<{ events: number; checkpoints: number }> {
  const signer = await loadAuditSigner(store.sql);
  let made = 0;
  const timer = withCheckpoints
    ? startAuditCheckpoints({
        sql: store.sql,
        signer,
        schedule: DEFAULT_CHECKPOINT_SCHEDULE,
        onCheckpoint: () => made++,
      })
    : null;
  let events = 0;
  const deadline = performance.now() + seconds * 1_000;
  await Promise.all(
    Array.from({ length: 16 }, async (_, worker) => {
      while (performance.now() < deadline) {
        const run = await createQueuedRun(store, `bench-${worker}`);
        const lease = (await store.acquireLease({ runId: run.runId, owner: `w${worker}`, ttlMs: 60_000 }))!;
        for (let step = 1; step <= 10 && performance.now() < deadline; step++) {
          await store.append({ lease, events: [stepStart(step)] });
          events++;
        }
      }
    }),
  );
  await timer?.stop();
  return { events, checkpoints: made };
}

// `--store none` measures only in memory.
const stores = (values.store ?? ["pglite", "postgres"]).filter((kind) => kind !== "none");
for (const kind of stores) {
  const target: BenchTarget =
    kind === "pglite" ? pgliteTarget() : await postgresTarget(process.env.DATABASE_URL);
  try {
    console.log(`\n${kind} (${target.where}):`);
    const { store, dispose } = await target.openStore();
    try {
      const filled = await timed(async () => await fillStore(store, rows, checkpoints));
      console.log(`  (written in ${filled.seconds.toFixed(0)} s)`);
      const read = await timed(async () => {
        let count = 0;
        for await (const page of leafPages(store.sql, { size: EVENTS })) count += page.length;
        return count;
      });
      line(
        "read every leaf (no hashing)",
        read.seconds,
        baseline.seconds,
        `(CPU time ${read.cpuSeconds.toFixed(2)} s, CPU ${read.cpuPercent.toFixed(0)}%, other load ${read.otherPercent?.toFixed(0)}%)`,
      );
      const verified = await timed(
        async () =>
          await verifyStoreAuditLog(store.sql, {
            threads: THREADS,
            trustedKeys: keys,
            incremental: true,
            signer,
          }),
      );
      if (!verified.result.ok || verified.result.mode !== "full" || !verified.result.recorded)
        throw new Error(`store verification failed: ${JSON.stringify(verified.result.problems)}`);
      line(
        `keel audit verify --full: read + verify, ${THREADS} worker threads`,
        verified.seconds,
        baseline.seconds,
        `(CPU time ${verified.cpuSeconds.toFixed(2)} s, CPU ${verified.cpuPercent.toFixed(0)}%, other load ${verified.otherPercent?.toFixed(0)}%; signed a record at ${verified.result.recorded.treeSize})`,
      );
      if (newRows.length > 0) {
        await fillStore(store, newRows, newCheckpoints);
        const incremental = await timed(
          async () =>
            await verifyStoreAuditLog(store.sql, { threads: THREADS, trustedKeys: keys, incremental: true }),
        );
        const result = incremental.result;
        if (!result.ok || result.mode !== "incremental" || result.from !== EVENTS)
          throw new Error(`incremental verification failed: ${JSON.stringify(result)}`);
        line(
          `keel audit verify (incremental): ${(result.leaves - result.from).toLocaleString("en")} new of ${result.leaves.toLocaleString("en")}`,
          incremental.seconds,
          baseline.seconds,
          `(CPU time ${incremental.cpuSeconds.toFixed(2)} s, CPU ${incremental.cpuPercent.toFixed(0)}%, other load ${incremental.otherPercent?.toFixed(0)}%; events/s counts all ${EVENTS.toLocaleString("en")} old ones, which were counted, not re-hashed)`,
        );
        const again = await timed(
          async () => await verifyStoreAuditLog(store.sql, { threads: THREADS, trustedKeys: keys }),
        );
        if (!again.result.ok)
          throw new Error(`full verification failed: ${JSON.stringify(again.result.problems)}`);
        line(
          `keel audit verify --full over all ${again.result.leaves.toLocaleString("en")}`,
          again.seconds,
          baseline.seconds,
          `(CPU time ${again.cpuSeconds.toFixed(2)} s, CPU ${again.cpuPercent.toFixed(0)}%, other load ${again.otherPercent?.toFixed(0)}%)`,
        );
      }
    } finally {
      await dispose();
    }
    for (const round of values.appends === "false" ? [] : [1, 2]) {
      for (const withCheckpoints of [false, true]) {
        const opened = await target.openStore();
        try {
          const seconds = 5;
          const result = await benchAppends(opened.store, withCheckpoints, seconds);
          console.log(
            `  appends, 16 runs at once, round ${round}, ${withCheckpoints ? `checkpointer on its default schedule (${result.checkpoints} signed)` : "no checkpointer"}: ${Math.round(result.events / seconds).toLocaleString("en")} events/s`,
          );
        } finally {
          await opened.dispose();
        }
      }
    }
  } finally {
    await target.close();
  }
}
console.log(
  `\nload average at end: ${loadavg()
    .map((value) => value.toFixed(2))
    .join(" ")}`,
);
