import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { captureIo } from "../../test/support/capture-io.ts";
import { createTestDatabase, testDatabaseServerUrl } from "../../test/support/test-database.ts";
import { verifyChain } from "../journal/index.ts";
import { startServer } from "../server/start-server.ts";
import { openStore } from "../store/open-store.ts";
import { runEnd, runStart, stepStart, uniqueName } from "../store/store-contract-fixtures.ts";
import { main } from "./main.ts";

const MARKER = "larkspurtealdana";

async function keel(env: Record<string, string>, ...argv: string[]) {
  const io = captureIo(env);
  const code = await main(argv, io);
  return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
}

/** Where a `keel` command finds the store: a data directory (PGlite), or DATABASE_URL (PostgreSQL). */
type Target = { args: string[]; env: Record<string, string>; open: () => ReturnType<typeof openStore> };

const targets: { name: string; target: () => Promise<Target | null> }[] = [
  {
    name: "PGlite",
    target: async () => {
      const dataDir = join(mkdtempSync(join(tmpdir(), "keel-erase-")), "data");
      return {
        args: ["--data-dir", dataDir],
        env: {},
        open: () => openStore({ dataDir: join(dataDir, "pgdata") }),
      };
    },
  },
  {
    name: "PostgreSQL",
    target: async () => {
      const server = testDatabaseServerUrl();
      if (!server) return null;
      const databaseUrl = await createTestDatabase(server);
      return { args: [], env: { DATABASE_URL: databaseUrl }, open: () => openStore({ databaseUrl }) };
    },
  },
];

for (const { name, target } of targets) {
  describe(`keel erase (${name})`, () => {
    let where: Target | null;
    let runId: string;

    before(async () => {
      where = await target();
      if (!where) return;
      const store = await where.open();
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

    after(() => {
      const dataDir = where?.args[1];
      if (dataDir) rmSync(join(dataDir, ".."), { recursive: true, force: true });
    });

    test("erases the subject, reports the counts, and keel audit verify --full and keel journal verify still pass", async (t) => {
      if (!where) return t.skip("PostgreSQL is not installed");
      const erased = await keel(where.env, "erase", "--subject", "dana", ...where.args, "--json");
      assert.equal(erased.code, 0, erased.err);
      const report = JSON.parse(erased.out) as { erased: Record<string, number>; record: { runId: string } };
      assert.equal(report.erased.keys, 1);
      assert.equal(report.erased.runs, 1);

      const verified = await keel(where.env, "audit", "verify", "--full", ...where.args);
      assert.equal(verified.code, 0, `${verified.out}\n${verified.err}`);

      const store = await where.open();
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

        // The journal check a client makes over HTTP, recomputing every hash here: the erased run and the
        // erasure's own record both verify.
        const server = await startServer({
          store,
          packages: [],
          env: {},
          host: "127.0.0.1",
          port: 0,
          log: () => undefined,
        });
        try {
          const journal = await keel(
            {},
            "journal",
            "verify",
            runId,
            report.record.runId,
            "--url",
            server.url,
          );
          assert.equal(journal.code, 0, `${journal.out}\n${journal.err}`);
          assert.match(journal.out, new RegExp(`✔ ${runId}: \\d+ events, chain intact`));
        } finally {
          await server.close();
        }
      } finally {
        await store.close();
      }
    });

    test("asks for --subject by name when it is missing", async (t) => {
      if (!where) return t.skip("PostgreSQL is not installed");
      const missing = await keel(where.env, "erase", ...where.args);
      assert.equal(missing.code, 2);
      assert.match(missing.err, /--subject/);
    });
  });
}
