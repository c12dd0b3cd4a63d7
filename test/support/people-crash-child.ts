/**
 * A worker process for the crash test of the nodes that wait on people and hand work to other agents: `start`
 * creates a run of signoff (an `approval` node: a task with a form) → handover (a `handoff` to the agent `closer`,
 * whose one call is a side effect), and drives it; `resume` drives the run and the child it hands over to until both
 * have ended. CRASH_AT names where this process stops for the parent's SIGKILL: `signoff` (the run suspended on the
 * person's task) or `handover` (inside the handed-over child's side effect, after it took effect).
 */
import { z } from "zod";
import type { AgentDefinition } from "../../src/runtime/agent-definition.ts";
import { startRun } from "../../src/runtime/start-run.ts";
import { createWorker } from "../../src/runtime/worker.ts";
import { defineWorkflow } from "../../src/spec/index.ts";
import { openStore } from "../../src/store/open-store.ts";
import { defineTool } from "../../src/tools/tool.ts";
import { scriptedAgent } from "./scripted-agent.ts";
import { permitAllTools, testGovernor } from "./test-governor.ts";

const [mode, target, phase, runIdArgument] = process.argv.slice(2);
const crashAt = process.env.CRASH_AT ?? "";
const store = await openStore(mode === "postgres" ? { databaseUrl: target! } : { dataDir: target! });
await store.sql.query("CREATE TABLE IF NOT EXISTS people_effects (key text PRIMARY KEY)");
await store.sql.query("CREATE TABLE IF NOT EXISTS people_executions (key text NOT NULL)");

const hang = () => {
  process.stdout.write("HANGING\n");
  return new Promise<never>(() => undefined);
};

/** Closes a case once per idempotency key; says on resume whether an attempt took effect. */
const closeCase = defineTool({
  name: "close_case",
  description: "Closes the customer's case, once per idempotency key.",
  input: z.object({ note: z.string() }),
  sideEffect: true,
  async execute({ note }, { idempotencyKey }) {
    // The execution and the effect in one statement, so a kill cannot fall between them.
    await store.sql.query(
      `WITH executed AS (INSERT INTO people_executions (key) VALUES ($1))
       INSERT INTO people_effects (key) VALUES ($1) ON CONFLICT DO NOTHING`,
      [idempotencyKey],
    );
    if (crashAt === "handover") await hang();
    return `closed: ${note}`;
  },
  async reconcile({ note }, { idempotencyKey }) {
    const { rows } = await store.sql.query("SELECT 1 FROM people_effects WHERE key = $1", [idempotencyKey]);
    return rows.length > 0 ? { applied: true, result: `closed: ${note}` } : { applied: false };
  },
});

const closer = scriptedAgent({
  name: "closer",
  turns: [
    { kind: "tool-calls", calls: [{ callId: "k1", tool: "close_case", arguments: { note: "refunded" } }] },
    { kind: "answer", text: "case closed" },
  ],
  tools: [closeCase],
  runTimeout: 60_000,
  toolTimeout: 60_000,
});

const workflow = defineWorkflow({
  name: "people-flow",
  version: "1.0.0",
  description: "A person signs off, then the case is handed to the closer.",
  owner: { team: "qa" },
  riskTier: 2,
  state: { signoff: { type: "object" } },
  start: "signoff",
  nodes: {
    signoff: {
      approval: {
        routeTo: "support-leads",
        form: {
          type: "object",
          properties: { refund: { type: "boolean" } },
          required: ["refund"],
          additionalProperties: false,
        },
        summary: "Sign off the refund",
        sla: "1d",
      },
      writes: "signoff",
      next: "handover",
    },
    handover: { handoff: { agent: "closer", reason: "signed off" } },
  },
  limits: { maxSteps: 10 },
});
const parent: AgentDefinition = { ...scriptedAgent({ name: "people-flow", turns: [] }), workflow };
const agents = [parent, closer];

let runId = runIdArgument ?? "";
if (phase === "start") {
  const { run } = await startRun({
    store,
    agent: parent,
    input: "refund order A-7",
    principal: { subject: "t", tenant: "default", roles: [] },
  });
  runId = run.runId;
  process.stdout.write(`RUN ${runId}\n`);
}
const worker = createWorker({
  store,
  agents: (name) => agents.find((agent) => agent.name === name),
  agentNamed: (name) => agents.find((agent) => agent.name === name),
  governor: await testGovernor(agents, {
    governance: (agent) =>
      agent.name === "people-flow" ? { allowedAgents: ["closer"] } : permitAllTools(agent),
  }),
  owner: `people-crash-child-${process.pid}`,
  // As in crash-child.ts: a short lease for a worker that is killed, a long one for the one that finishes.
  leaseTtlMs: crashAt === "" ? 10_000 : 2_000,
  log: (line) => process.stderr.write(`people-crash-child: ${line}\n`),
});
worker.start();
const ended = (status: string | undefined) =>
  status !== undefined && ["completed", "failed", "cancelled"].includes(status);
for (;;) {
  const run = await store.getRun(runId);
  if (run?.status === "suspended" && crashAt === "signoff") await hang();
  const children = await store.listChildren({ runId });
  if (ended(run?.status) && children.every((child) => ended(child.status))) {
    process.stdout.write(`END ${run?.status}\n`);
    break;
  }
  await store.waitForEvents({ runId, afterSeq: run?.lastSeq ?? 0, timeoutMs: 200 });
}
await worker.stop();
await store.close();
