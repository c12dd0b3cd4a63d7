import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import { testGovernor } from "../../test/support/test-governor.ts";
import type { Principal } from "../journal/index.ts";
import { createScriptedModelProvider } from "../models/index.ts";
import type { AgentDefinition } from "../runtime/agent-definition.ts";
import { startRun } from "../runtime/start-run.ts";
import { createWorker, type Worker } from "../runtime/worker.ts";
import { sqlSessionQueries } from "../store/index.ts";
import { openStore } from "../store/open-store.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { buildRunSpans } from "./build-run-spans.ts";

const principal: Principal = { subject: "user:ada", tenant: "default", roles: [] };
const filler = "a sentence long enough that a few of them fill a small window quickly, ".repeat(4);
/** A scripted list: each run answers at once; summary calls are answered by the offline extractive summary. */
const agent: AgentDefinition = {
  ...scriptedAgent({ name: "chatty", turns: [] }),
  provider: createScriptedModelProvider({ turns: [{ kind: "answer", text: `ok. ${filler}` }] }),
  params: { maxOutputTokens: 100 },
  context: { maxTokens: 600, strategy: "summarize", keepLastTurns: 1 },
};

let store: SqlStore;
let worker: Worker;
before(async () => {
  store = await openStore({});
  worker = createWorker({
    store,
    agents: () => agent,
    governor: await testGovernor([agent]),
    owner: "spans",
  });
  worker.start();
});
after(async () => {
  await worker.stop();
  await store.close();
});

test("a session's run is traced as its conversation, with what its context carried and the summary call's chat span", async () => {
  const { sessionId } = await sqlSessionQueries(store.sql).createSession({ agent: agent.name, principal });
  let runId = "";
  for (let turn = 1; turn <= 4; turn++) {
    ({
      run: { runId },
    } = await startRun({
      store,
      agent,
      input: `message ${turn}: ${filler}`,
      principal,
      session: { sessionId },
    }));
    worker.poke();
    for (;;) {
      const run = await store.getRun(runId);
      if (run?.status === "completed") break;
      assert.ok(run && ["queued", "running"].includes(run.status), `turn ${turn}: ${run?.status}`);
      await store.waitForEvents({ runId, afterSeq: run.lastSeq, timeoutMs: 200 });
    }
  }
  const spans = buildRunSpans(await store.readEvents({ runId }));
  const root = spans[0]!;
  assert.equal(root.attributes["gen_ai.conversation.id"], sessionId);
  assert.equal(root.attributes["keel.session.id"], sessionId);
  assert.equal(root.attributes["keel.session.turn"], 4);
  assert.equal(root.attributes["keel.context.strategy"], "summarize");
  assert.equal(root.attributes["keel.context.max_tokens"], 600);
  assert.equal(
    Number(root.attributes["keel.context.turns_carried"]) +
      Number(root.attributes["keel.context.turns_summarized"]),
    3,
  );
  const summaries = spans.filter((span) => span.attributes["keel.phase"] === "context_summary");
  assert.equal(summaries.length, 1, "the last turn made one summary call");
  assert.equal(summaries[0]!.attributes["gen_ai.operation.name"], "chat");
  assert.equal(typeof summaries[0]!.attributes["keel.cost.usd"], "number");
});
