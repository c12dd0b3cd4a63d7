import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { describe, test } from "node:test";
import { agentPackages } from "../../examples/index.ts";
import { createTestDatabase, testDatabaseServerUrl } from "../../test/support/test-database.ts";
import { startRun } from "../runtime/start-run.ts";
import { loadAgentPackages } from "../server/create-keel.ts";
import { openStore } from "../store/open-store.ts";
import { main } from "./main.ts";

const entry = new URL("./main.ts", import.meta.url).pathname;

describe("keel worker", () => {
  test("refuses to start without a shared PostgreSQL", async () => {
    const errors: string[] = [];
    const code = await main(["worker"], {
      out: () => undefined,
      err: (text) => errors.push(text),
      env: {},
      isTty: false,
    });
    assert.equal(code, 2);
    assert.match(errors.join("\n"), /keel worker needs DATABASE_URL/);
  });

  test("a separate worker process completes runs queued by another process on PostgreSQL", async (t) => {
    const server = testDatabaseServerUrl();
    if (!server) return t.skip("PostgreSQL is not installed");
    const databaseUrl = await createTestDatabase(server);
    const store = await openStore({ databaseUrl });
    const worker = spawn(process.execPath, [entry, "worker", "--concurrency", "4"], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, DATABASE_URL: databaseUrl },
    });
    try {
      const lines = createInterface({ input: worker.stdout! })[Symbol.asyncIterator]();
      for (let line = await lines.next(); !line.done; line = await lines.next()) {
        if (line.value.includes("is claiming runs")) break;
      }
      const { agents } = await loadAgentPackages({ store, packages: agentPackages, env: {} });
      const agent = agents.current("support-triage")!;
      const principal = { subject: "tester", tenant: "default", roles: [] };
      const runs = await Promise.all(
        ["Where is my order 1042?", "how long does a refund take?", "track 1038"].map(
          async (input) => (await startRun({ store, agent, input, principal })).run.runId,
        ),
      );
      for (const runId of runs) {
        for (;;) {
          const run = await store.getRun(runId);
          if (run?.status === "completed") break;
          assert.ok(run && ["queued", "running"].includes(run.status), `unexpected ${run?.status}`);
          await store.waitForEvents({ runId, afterSeq: run.lastSeq, timeoutMs: 500 });
        }
      }
    } finally {
      const exited = new Promise((resolve) => worker.once("exit", resolve));
      worker.kill("SIGTERM");
      await exited;
      await store.close();
    }
  });
});
