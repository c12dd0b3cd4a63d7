import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { startRun } from "../../src/runtime/start-run.ts";
import { createKeel, type Keel } from "../../src/server/create-keel.ts";
import type { RunRecord } from "../../src/store/run-record.ts";
import type { SqlStore } from "../../src/store/sql-store.ts";
import { testStores } from "../../test/support/test-database.ts";
import { codeRunner } from "./index.ts";

const skip =
  !existsSync("/usr/bin/bwrap") && process.env.CI !== "true" ? "bubblewrap is not installed" : false;

for (const kind of testStores()) {
  describe(`the code-runner example on ${kind.name}: Python in a sandbox, offline`, { skip }, () => {
    let store: SqlStore;
    let keel: Keel;

    const run = async (input: string): Promise<RunRecord> => {
      const { run } = await startRun({
        store,
        agent: keel.agents.current("code-runner")!,
        input,
        principal: { subject: "ana", tenant: "default", roles: ["analyst"] },
      });
      keel.worker.poke();
      let current = (await store.getRun(run.runId))!;
      for (let attempt = 0; attempt < 800 && ["queued", "running"].includes(current.status); attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        current = (await store.getRun(run.runId))!;
      }
      return current;
    };

    before(async () => {
      store = await kind.open();
      keel = await createKeel({ store, agents: [codeRunner], env: {}, log: () => undefined, api: false });
    });
    after(async () => {
      await keel.close();
      await store.close();
    });

    test("answers a sum by running Python, sees no host file, and is stopped at its limits", async () => {
      const sum = await run("What is (12 + 30) * 2?");
      assert.equal(sum.status, "completed", JSON.stringify(sum.error));
      assert.equal(sum.answer, "84");

      const peek = await run("run: print(open('/etc/passwd').read())");
      assert.equal(peek.status, "completed", JSON.stringify(peek.error));
      assert.match(
        peek.answer ?? "",
        /FileNotFoundError: \[Errno 2\] No such file or directory: '\/etc\/passwd'/,
      );

      const spin = await run("run: import time; time.sleep(60)");
      assert.equal(spin.answer, "The program was stopped at its wall-time limit.");
    });
  });
}
