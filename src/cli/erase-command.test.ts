import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { captureIo } from "../../test/support/capture-io.ts";
import { verifyChain } from "../journal/index.ts";
import { openStore } from "../store/open-store.ts";
import { runEnd, runStart, stepStart, uniqueName } from "../store/store-contract-fixtures.ts";
import { main } from "./main.ts";

const MARKER = "larkspurtealdana";

async function keel(...argv: string[]) {
  const io = captureIo();
  const code = await main(argv, io);
  return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
}

describe("keel erase", () => {
  let dir: string;
  let dataDir: string;
  let runId: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "keel-erase-"));
    dataDir = join(dir, "data");
    const store = await openStore({ dataDir: join(dataDir, "pgdata") });
    runId = uniqueName("run");
    await store.createRun({
      runId,
      start: runStart("concierge", `Please call ${MARKER} back.`),
      subject: "dana",
    });
    // Granted by the store, the lease names the key the run's appends are sealed with.
    const lease = await store.acquireLease({ runId, owner: "test", ttlMs: 60_000 });
    assert.ok(lease?.sealWith);
    await store.append({ lease, events: [stepStart(1), runEnd(`Called ${MARKER}.`)] });
    await store.close();
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  test("erases the subject in the data directory's store, reports the counts, and the audit log still verifies", async () => {
    const erased = await keel("erase", "--subject", "dana", "--data-dir", dataDir, "--json");
    assert.equal(erased.code, 0, erased.err);
    const report = JSON.parse(erased.out) as { erased: Record<string, number>; record: { runId: string } };
    assert.equal(report.erased.keys, 1);
    assert.equal(report.erased.runs, 1);

    const verified = await keel("audit", "verify", "--full", "--data-dir", dataDir);
    assert.equal(verified.code, 0, `${verified.out}\n${verified.err}`);

    const store = await openStore({ dataDir: join(dataDir, "pgdata") });
    try {
      const stored = await store.readEvents({ runId, asStored: true });
      assert.equal(verifyChain(stored).ok, true);
      const read = await store.readEvents({ runId });
      assert.equal((read[0]!.payload as { input: unknown }).input, "[erased]");
      const { rows } = await store.sql.query<{ n: number | string }>(
        `SELECT (SELECT count(*) FROM keel_event_batches WHERE payloads ILIKE '%' || $1 || '%')
              + (SELECT count(*) FROM keel_runs WHERE input ILIKE '%' || $1 || '%' OR answer ILIKE '%' || $1 || '%') AS n`,
        [MARKER],
      );
      assert.equal(Number(rows[0]!.n), 0);
      const record = await store.readEvents({ runId: report.record.runId });
      assert.equal(record[0]!.type, "run-start");
      assert.equal((record[0]!.payload as { agent: string }).agent, "keel.erasure");
    } finally {
      await store.close();
    }
  });

  test("asks for --subject by name when it is missing", async () => {
    const missing = await keel("erase", "--data-dir", dataDir);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /--subject/);
  });
});
