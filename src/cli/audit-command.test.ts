import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { captureIo } from "../../test/support/capture-io.ts";
import { makeEventRowsWritable } from "../../test/support/writable-event-rows.ts";
import { openStore } from "../store/open-store.ts";
import { createQueuedRun, runEnd, stepStart } from "../store/store-contract-fixtures.ts";
import { main } from "./main.ts";

async function keel(...argv: string[]) {
  const io = captureIo();
  const code = await main(["audit", ...argv], io);
  return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
}

describe("keel audit", () => {
  let dir: string;
  let dataDir: string;
  let keyFile: string;
  const runIds: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "keel-audit-"));
    dataDir = join(dir, "data");
    keyFile = join(dir, "operator.pem");
    const store = await openStore({ dataDir: join(dataDir, "pgdata") });
    for (let index = 0; index < 6; index++) {
      const run = await createQueuedRun(store, "audited-agent");
      const lease = await store.acquireLease({ runId: run.runId, owner: "test", ttlMs: 60_000 });
      await store.append({ lease: lease!, events: [stepStart(1), stepStart(2), runEnd(`answer ${index}`)] });
      runIds.push(run.runId);
    }
    await store.close();
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  test("signs a checkpoint, prints the key to pin, and verifies the store against it", async () => {
    const signed = await keel("checkpoint", "--data-dir", dataDir);
    assert.equal(signed.code, 0, signed.err);
    assert.match(signed.out, /✔ signed checkpoint 24 \(root [0-9a-f]{64}\) with key [0-9a-f]{16}/);
    assert.match((await keel("checkpoint", "--data-dir", dataDir)).out, /nothing to sign/);
    const key = await keel("public-key", "--data-dir", dataDir);
    writeFileSync(keyFile, key.out.split("\n").slice(1).join("\n"));
    const verified = await keel("verify", "--data-dir", dataDir, "--public-key", keyFile);
    assert.equal(verified.code, 0, verified.err);
    assert.match(verified.out, /✔ audit log .*: intact — 24 events in 6 runs, 1 checkpoint \(/);
    assert.match(verified.out, /full: every event re-read, because no earlier verification is recorded/);
    assert.match(verified.out, /recorded: verified up to checkpoint 24, signed by key [0-9a-f]{16}/);
    assert.doesNotMatch(verified.out, /not pinned/);
    const again = await keel("verify", "--data-dir", dataDir);
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, /keys were not pinned/);
    assert.match(
      again.out,
      /incremental: re-read the 0 events after checkpoint 24, verified full on .*; the 24 before it/,
    );
  });

  test("exports a run and the whole log as bundles that verify without the store, and not once altered", async () => {
    const runBundle = join(dir, "run-bundle");
    const logBundle = join(dir, "log-bundle");
    const exported = await keel("export", "--run", runIds[2]!, "--out", runBundle, "--data-dir", dataDir);
    assert.equal(exported.code, 0, exported.err);
    assert.match(exported.out, /wrote 4 events/);
    assert.equal((await keel("export", "--out", logBundle, "--data-dir", dataDir)).code, 0);
    assert.match(readFileSync(join(runBundle, "README.md"), "utf8"), /SHA-256\(0x00 \|\| line bytes\)/);
    for (const bundle of [runBundle, logBundle]) {
      const verified = await keel("verify-bundle", bundle, "--public-key", keyFile);
      assert.equal(verified.code, 0, verified.err);
      assert.match(verified.out, /intact/);
    }
    const events = join(runBundle, "events.jsonl");
    writeFileSync(events, readFileSync(events, "utf8").replace('"answer 2"', '"answer 9"'));
    const tampered = await keel("verify-bundle", runBundle, "--public-key", keyFile);
    assert.equal(tampered.code, 1);
    assert.match(tampered.err, /✖ bundle .*: \d+ problems?/);
    assert.match(tampered.err, /payload does not match its payloadHash/);
    writeFileSync(join(logBundle, "proofs.json"), "{");
    const unreadable = await keel("verify-bundle", logBundle, "--public-key", keyFile);
    assert.equal(unreadable.code, 1);
    assert.match(unreadable.err, /proofs.json is not JSON/);
  });

  test("names what was changed, and where, when the store was tampered with: after the last verification by default, anywhere with --full", async () => {
    const store = await openStore({ dataDir: join(dataDir, "pgdata") });
    const run = await createQueuedRun(store, "audited-agent");
    const lease = await store.acquireLease({ runId: run.runId, owner: "test", ttlMs: 60_000 });
    await store.append({ lease: lease!, events: [stepStart(1), runEnd("late answer")] });
    await store.close();
    assert.equal((await keel("checkpoint", "--data-dir", dataDir)).code, 0);
    const tamper = async (runId: string, seq: number) => {
      const opened = await openStore({ dataDir: join(dataDir, "pgdata") });
      await makeEventRowsWritable(opened.sql);
      await opened.sql.query(
        `UPDATE keel_events SET payload = jsonb_set(payload::jsonb, '{answer}', '"rewritten"')::text WHERE run_id = $1 AND seq = $2`,
        [runId, seq],
      );
      await opened.close();
    };
    await tamper(run.runId, 3);
    const recent = await keel("verify", "--data-dir", dataDir, "--public-key", keyFile);
    assert.equal(recent.code, 1, "an event after the last verification is re-read by default");
    assert.match(
      recent.err,
      new RegExp(`run ${run.runId} seq 3\\): payload does not match its payload_hash`),
    );
    const opened = await openStore({ dataDir: join(dataDir, "pgdata") });
    await makeEventRowsWritable(opened.sql);
    await opened.sql.query(
      `UPDATE keel_events SET payload = jsonb_set(payload::jsonb, '{answer}', '"late answer"')::text WHERE run_id = $1 AND seq = 3`,
      [run.runId],
    );
    await opened.close();
    const restored = await keel("verify", "--data-dir", dataDir, "--public-key", keyFile);
    assert.equal(restored.code, 0, restored.err);
    assert.match(restored.out, /incremental: re-read the 3 events after checkpoint 24/);
    assert.match(restored.out, /recorded: verified up to checkpoint 27/);
    await tamper(runIds[1]!, 4);
    const incremental = await keel("verify", "--data-dir", dataDir, "--public-key", keyFile);
    assert.equal(
      incremental.code,
      0,
      "an event before the last verified checkpoint is counted, not re-hashed",
    );
    assert.match(
      incremental.out,
      /re-read the 0 events after checkpoint 27, .*; the 27 before it were counted, not re-hashed \(--full re-hashes every event\)/,
    );
    const verified = await keel("verify", "--full", "--data-dir", dataDir, "--public-key", keyFile);
    assert.equal(verified.code, 1);
    assert.match(
      verified.err,
      new RegExp(`event \\(leaf \\d+, run ${runIds[1]} seq 4\\): payload does not match its payload_hash`),
    );
    assert.match(verified.err, /tree \(checkpoint 24\): the leaves no longer hash to checkpoint 24's root/);
  });

  test("refuses a data directory with no store instead of creating an empty one and reporting it intact", async () => {
    const missing = join(dir, "no-such-data");
    const evalsOnly = join(dir, "evals-only");
    mkdirSync(join(evalsOnly, "evals"), { recursive: true });
    for (const command of [
      ["verify"],
      ["checkpoint"],
      ["export", "--out", join(dir, "none")],
      ["public-key"],
    ]) {
      for (const where of [missing, evalsOnly]) {
        const result = await keel(...command, "--data-dir", where);
        assert.equal(result.code, 1, `${command.join(" ")} ${where}`);
        assert.equal(
          result.err,
          `keel: no Keel store in ${where} (${join(where, "pgdata")} does not exist): pass the data directory \`keel serve\` uses with --data-dir (or KEEL_DATA_DIR), or set DATABASE_URL`,
        );
        assert.equal(result.out, "");
      }
      assert.equal(existsSync(missing), false);
      assert.equal(existsSync(join(evalsOnly, "pgdata")), false);
    }
  });

  test("refuses bad flags with usage and exit 2", async () => {
    assert.equal((await keel("verify", "--threads", "lots", "--data-dir", dataDir)).code, 2);
    assert.equal((await keel("frobnicate")).code, 2);
    assert.match((await keel("verify-bundle")).err, /keel audit verify-bundle <DIR>/);
  });
});
