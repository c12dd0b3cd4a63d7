/**
 * What sealing a run's personal fields costs, and what it costs a run without a data subject: appends of the
 * ~300-byte bench event to a run with no subject and to a run with one (its `result` sealed), interleaved in rounds
 * so machine load falls on both alike; reads of 40 events of each; and the only work a read of a subject-less run
 * gained (looking for sealed fields to open), timed alone in process against that read.
 *
 *   npx node bench/subject-sealing.ts [--rounds 10] [--per-round 200]      (PGlite in a temp dir; DATABASE_URL: PostgreSQL)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openStore } from "../src/store/open-store.ts";
import type { Lease } from "../src/store/store.ts";
import { openEvents } from "../src/store/subject-keys.ts";
import { benchEvent } from "./bench-event.ts";
import { leasedRuns } from "./leased-runs.ts";

const { values } = parseArgs({
  options: { rounds: { type: "string" }, "per-round": { type: "string" } },
});
const rounds = Number(values.rounds ?? 10);
const perRound = Number(values["per-round"] ?? 200);
const databaseUrl = process.env.DATABASE_URL;
const dir = databaseUrl ? null : mkdtempSync(join(tmpdir(), "keel-bench-sealing-"));
const store = databaseUrl
  ? await openStore({ databaseUrl })
  : await openStore({ dataDir: join(dir!, "pgdata") });

const p50 = (samples: number[]) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)]!;

async function subjectRun(): Promise<Lease> {
  // The same run shape, made about a person and leased the way a worker is.
  const [lease] = await leasedRuns(store, 1, { subject: "bench-person" });
  if (!lease?.sealWith) throw new Error("the subject run's lease names no key");
  return lease;
}

try {
  const [plain] = await leasedRuns(store, 1);
  const sealed = await subjectRun();
  const times = { plain: [] as number[], sealed: [] as number[] };
  let index = 0;
  const appendOnce = async (lease: Lease, into: number[]) => {
    const started = performance.now();
    await store.append({ lease, events: [benchEvent(index++)] });
    into.push(performance.now() - started);
  };
  for (let warm = 0; warm < 100; warm += 1) {
    await appendOnce(plain!, []);
    await appendOnce(sealed, []);
  }
  for (let round = 0; round < rounds; round += 1) {
    // Alternate which goes first, so neither always follows the other's commit.
    const order = round % 2 === 0 ? ([plain!, sealed] as const) : ([sealed, plain!] as const);
    for (const lease of order) {
      const into = lease === sealed ? times.sealed : times.plain;
      for (let call = 0; call < perRound; call += 1) await appendOnce(lease, into);
    }
  }
  const reads = { plain: [] as number[], sealed: [] as number[], scan: [] as number[] };
  for (let round = 0; round < rounds * 20; round += 1) {
    for (const [lease, into] of [
      [plain!, reads.plain],
      [sealed, reads.sealed],
    ] as const) {
      const started = performance.now();
      await store.readEvents({ runId: lease.runId, afterSeq: 100, limit: 40 });
      into.push(performance.now() - started);
    }
  }
  // The added work of a subject-less read, alone: the events as the store parsed them, looked over for sealed fields.
  const stored = await store.readEvents({ runId: plain!.runId, afterSeq: 100, limit: 40, asStored: true });
  for (let round = 0; round < rounds * 200; round += 1) {
    const started = performance.now();
    await openEvents(store.sql, stored);
    reads.scan.push(performance.now() - started);
  }
  const figures = {
    store: databaseUrl ? "postgres" : "pglite",
    node: process.version,
    samples: times.plain.length,
    appendP50Ms: { noSubject: p50(times.plain), subject: p50(times.sealed) },
    appendRatioSubjectToNone: p50(times.sealed) / p50(times.plain),
    read40P50Ms: { noSubject: p50(reads.plain), subject: p50(reads.sealed) },
    read40RatioSubjectToNone: p50(reads.sealed) / p50(reads.plain),
    subjectlessReadAddedP50Ms: p50(reads.scan),
    subjectlessReadAddedShare: p50(reads.scan) / p50(reads.plain),
  };
  console.log(JSON.stringify(figures, null, 2));
} finally {
  await store.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
