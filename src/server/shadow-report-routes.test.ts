import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import { testStores } from "../../test/support/test-database.ts";
import { testGovernor } from "../../test/support/test-governor.ts";
import type { Principal } from "../journal/index.ts";
import { createAgentCatalog } from "../runtime/agent-catalog.ts";
import { startRun } from "../runtime/start-run.ts";
import { createWorker, type Worker } from "../runtime/worker.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { createApp } from "./create-app.ts";

/** Invokes the agent (sessions are an invoker's) and reads its reports (an operator's). */
const operator: Principal = { subject: "ops", tenant: "default", roles: ["invoker", "operator"] };
const viewer: Principal = { subject: "val", tenant: "default", roles: ["viewer"] };

const stable = scriptedAgent({
  name: "helper",
  version: "1.0.0",
  turns: [{ kind: "answer", text: "Live answer." }],
});
const candidate = scriptedAgent({
  name: "helper",
  version: "2.0.0",
  turns: [{ kind: "answer", text: "Candidate answer." }],
});

for (const kind of testStores()) {
  describe(`the rollout shadow report over HTTP on ${kind.name}`, () => {
    let store: SqlStore;
    let worker: Worker;
    let app: ReturnType<typeof createApp>;
    let viewerApp: ReturnType<typeof createApp>;

    before(async () => {
      store = await kind.open();
      // The catalog serves 1.0.0 (its last entry per name is the current version); the worker runs both.
      const agents = createAgentCatalog([candidate, stable]);
      const governor = await testGovernor([stable, candidate]);
      worker = createWorker({
        store,
        agents: agents.lookup,
        governor,
        owner: "report-test",
        leaseTtlMs: 5_000,
      });
      worker.start();
      app = createApp({ store, agents, worker, governor, principal: operator, log: () => undefined });
      viewerApp = createApp({ store, agents, governor, principal: viewer, log: () => undefined });
    });
    after(async () => {
      await worker?.stop();
      await store?.close();
    });

    async function ended(runId: string) {
      for (let i = 0; i < 300; i++) {
        const run = (await store.getRun(runId))!;
        if (!["queued", "running"].includes(run.status)) return run;
        await store.waitForEvents({ runId, afterSeq: run.lastSeq, timeoutMs: 100 });
      }
      throw new Error(`run ${runId} did not settle`);
    }

    test("a session shows only its live run, and the report compares the shadow the session never saw", async () => {
      const created = await app.request("/v1/agents/helper/sessions", { method: "POST" });
      const { id } = (await created.json()) as { id: string };
      const sent = await app.request(`/v1/sessions/${id}/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ input: "hello" }),
      });
      const { runId } = (await sent.json()) as { runId: string };
      const shadow = await startRun({
        store,
        agent: candidate,
        input: "hello",
        principal: operator,
        shadowOf: { runId },
      });
      worker.poke();
      assert.equal((await ended(runId)).answer, "Live answer.");
      assert.equal((await ended(shadow.run.runId)).answer, "Candidate answer.");

      const thread = (await (await app.request(`/v1/sessions/${id}`)).json()) as {
        messages: { role: string; content: string }[];
        runs: { runId: string }[];
      };
      assert.deepEqual(
        thread.messages.map((message) => [message.role, message.content]),
        [
          ["user", "hello"],
          ["assistant", "Live answer."],
        ],
      );
      assert.deepEqual(
        thread.runs.map((run) => run.runId),
        [runId],
      );
      // The live run answers its caller with its own answer; the shadow is marked wherever runs are listed.
      const live = (await (await app.request(`/v1/runs/${runId}`)).json()) as {
        answer: string;
        shadowOf: null;
      };
      assert.deepEqual([live.answer, live.shadowOf], ["Live answer.", null]);
      const listed = (await (await app.request(`/v1/runs/${shadow.run.runId}`)).json()) as {
        shadowOf: string;
      };
      assert.equal(listed.shadowOf, runId);

      const response = await app.request("/v1/agents/helper/rollout/shadow-report?candidate=2.0.0&since=1h");
      assert.equal(response.status, 200);
      const report = (await response.json()) as {
        stableVersion: string;
        pairs: number;
        answers: { compared: number; agreed: number };
      };
      assert.equal(report.stableVersion, "1.0.0");
      assert.equal(report.pairs, 1);
      assert.deepEqual([report.answers.compared, report.answers.agreed], [1, 0]);
      // Without a candidate, the latest version with shadow runs is compared.
      const latest = await app.request("/v1/agents/helper/rollout/shadow-report");
      assert.equal(((await latest.json()) as { candidateVersion: string }).candidateVersion, "2.0.0");
    });

    test("is for operators: a viewer is refused, and an unknown agent is not found", async () => {
      const refused = await viewerApp.request("/v1/agents/helper/rollout/shadow-report?candidate=2.0.0");
      assert.equal(refused.status, 403);
      const unknown = await app.request("/v1/agents/nobody/rollout/shadow-report?candidate=2.0.0");
      assert.equal(unknown.status, 404);
    });
  });
}
