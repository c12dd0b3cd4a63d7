import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import { testGovernor } from "../../test/support/test-governor.ts";
import { defineWorkflow } from "../spec/index.ts";
import { openStore } from "../store/open-store.ts";
import type { SqlStore } from "../store/sql-store.ts";
import type { AgentDefinition } from "./agent-definition.ts";
import { createChildRuns } from "./child-runs.ts";
import { foldEvents } from "./run-state.ts";
import { startRun } from "./start-run.ts";
import { createWorker } from "./worker.ts";

const principal = { subject: "tester", tenant: "default", roles: [] };

const router = defineWorkflow({
  name: "desk-router",
  version: "1.0.0",
  description: "Hands every request to the helper.",
  owner: { team: "qa" },
  riskTier: 3,
  state: {},
  start: "handover",
  nodes: { handover: { handoff: { agent: "helper", reason: "the helper knows" } } },
});

const helper = scriptedAgent({ name: "helper", turns: [{ kind: "answer", text: "helped" }] });
const workflow: AgentDefinition = { ...scriptedAgent({ name: "desk-router", turns: [] }), workflow: router };

let store: SqlStore;
before(async () => {
  store = await openStore({});
});
after(async () => {
  await store.close();
});

test("a handoff node replayed after its child started but before its end was journaled finds that child, not a second", async () => {
  const { run } = await startRun({ store, agent: workflow, input: "where is my parcel?", principal });
  const current = (name: string) => (name === "helper" ? helper : undefined);
  // What a worker that died right after starting the child left behind: the child, and no node-end.
  const parentState = foldEvents(await store.readEvents({ runId: run.runId }));
  const { run: earlier, created } = await createChildRuns({
    store,
    parent: parentState,
    parentAgent: workflow,
    agentNamed: current,
  }).start({
    agent: "helper",
    input: "where is my parcel?\n\n(Handed over by desk-router: the helper knows)",
    node: "handover",
    visit: 1,
    idempotencyKey: `${run.runId}:handover.1`,
  });
  assert.equal(created, true);

  const governor = await testGovernor([workflow, helper], {
    governance: (agent) => (agent.name === "desk-router" ? { allowedAgents: ["helper"] } : {}),
  });
  const worker = createWorker({
    store,
    agents: (name) => current(name) ?? (name === "desk-router" ? workflow : undefined),
    agentNamed: current,
    governor,
    owner: "handoff-test",
  });
  worker.start();
  try {
    for (let waited = 0; waited < 10_000; waited += 20) {
      const parent = await store.getRun(run.runId);
      const child = await store.getRun(earlier.runId);
      if (parent?.status === "completed" && child?.status === "completed") break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await worker.stop();
  }
  const events = await store.readEvents({ runId: run.runId });
  const end = events.find((event) => event.type === "node-end");
  assert.deepEqual(end?.type === "node-end" && end.payload.output, {
    handoff: { kind: "agent", name: "helper", runId: earlier.runId },
    reason: "the helper knows",
  });
  assert.equal((await store.getRun(run.runId))?.status, "completed");
  assert.equal(
    (await store.listRuns({ agent: "helper" })).length,
    1,
    "one child run, however often the node ran",
  );
  assert.equal((await store.getRun(earlier.runId))?.answer, "helped");
});
