/**
 * A worker process for the workflow crash test: `start` creates a run of a workflow with one node of each kind
 * that acts or waits — lookup (tool) → charge (tool, side effect) → route (decide) → pause (a 2 s durable timer) →
 * notify (tool, side effect) → done (end) — and drives it; `resume` drives it until it ends. CRASH_AT names where
 * the first process stops for the parent's SIGKILL: `charge` (inside the call, after its effect), `decide` (inside
 * the model call), `wait` (suspended on the timer) or `notify` (inside the second side effect, after the first).
 */
import { z } from "zod";
import { createScriptedModelProvider } from "../../src/models/scripted-model-provider.ts";
import type { AgentDefinition } from "../../src/runtime/agent-definition.ts";
import { startRun } from "../../src/runtime/start-run.ts";
import { createWorker } from "../../src/runtime/worker.ts";
import { defineWorkflow } from "../../src/spec/index.ts";
import { openStore } from "../../src/store/open-store.ts";
import { defineTool } from "../../src/tools/tool.ts";
import { scriptedAgent } from "./scripted-agent.ts";
import { testGovernor } from "./test-governor.ts";

const [mode, target, phase, runIdArgument] = process.argv.slice(2);
const crashAt = phase === "start" ? (process.env.CRASH_AT ?? "") : "";
const store = await openStore(mode === "postgres" ? { databaseUrl: target! } : { dataDir: target! });
await store.sql.query("CREATE TABLE IF NOT EXISTS crash_effects (key text PRIMARY KEY, tool text NOT NULL)");
await store.sql.query("CREATE TABLE IF NOT EXISTS crash_executions (tool text NOT NULL, key text NOT NULL)");

const hang = () => {
  process.stdout.write("HANGING\n");
  return new Promise<never>(() => undefined);
};

/** A side effect applied once per idempotency key, which says on resume whether an attempt took effect. */
function sideEffect(name: string) {
  return defineTool({
    name,
    description: `${name}, once per idempotency key.`,
    input: z.object({ cents: z.number().int() }),
    output: z.object({ done: z.literal(true), cents: z.number().int() }),
    sideEffect: true,
    async execute({ cents }, { idempotencyKey }) {
      await store.sql.query("INSERT INTO crash_executions (tool, key) VALUES ($1, $2)", [
        name,
        idempotencyKey,
      ]);
      await store.sql.query("INSERT INTO crash_effects (key, tool) VALUES ($1, $2) ON CONFLICT DO NOTHING", [
        idempotencyKey,
        name,
      ]);
      if (crashAt === name) await hang();
      return { done: true as const, cents };
    },
    async reconcile({ cents }, { idempotencyKey }) {
      const { rows } = await store.sql.query("SELECT 1 FROM crash_effects WHERE key = $1", [idempotencyKey]);
      return rows.length > 0 ? { applied: true, result: { done: true as const, cents } } : { applied: false };
    },
  });
}

const lookup = defineTool({
  name: "lookup_order",
  description: "Reads an order.",
  input: z.object({ orderId: z.string() }),
  output: z.object({ id: z.string(), total: z.number().int() }),
  async execute({ orderId }) {
    await store.sql.query("INSERT INTO crash_executions (tool, key) VALUES ('lookup_order', $1)", [orderId]);
    return { id: orderId, total: 1250 };
  },
});

const workflow = defineWorkflow({
  name: "crash-flow",
  version: "1.0.0",
  description: "Charges an order, decides, waits on a durable timer, then notifies.",
  owner: { team: "qa" },
  riskTier: 2,
  model: { provider: "rules", id: "rules" },
  state: {
    order: { type: "object" },
    receipt: { type: "object" },
    route: { type: "string" },
    sent: { type: "object" },
  },
  start: "lookup",
  nodes: {
    lookup: {
      tool: { name: "lookup_order", args: { orderId: "${input.orderId}" } },
      writes: "order",
      next: "charge",
    },
    charge: {
      tool: { name: "charge", args: { cents: "${state.order.total}" } },
      writes: "receipt",
      next: "route",
    },
    route: {
      decide: {
        prompt: "Should the customer be told?",
        input: "order ${state.order.id}",
        labels: ["notify", "skip"],
        fallback: "done",
      },
      writes: "route",
      next: { notify: "pause", skip: "done" },
    },
    pause: { wait: { for: "2s" }, next: "notify" },
    notify: {
      tool: { name: "notify", args: { cents: "${state.receipt.cents}" } },
      writes: "sent",
      next: "done",
    },
    done: { end: { output: "charged ${state.receipt.cents}, route ${state.route}" } },
  },
  limits: { maxSteps: 20 },
});

const scripted = createScriptedModelProvider({ turns: () => ({ kind: "answer", text: "notify" }) });
const model: AgentDefinition["provider"] = {
  ...scripted,
  async generate(request) {
    if (crashAt === "decide") await hang();
    return await scripted.generate(request);
  },
};
const agent: AgentDefinition = {
  ...scriptedAgent({
    name: "crash-flow",
    turns: [],
    tools: [lookup, sideEffect("charge"), sideEffect("notify")],
    runTimeout: 60_000,
    toolTimeout: 60_000,
  }),
  provider: model,
  workflow,
};

let runId = runIdArgument ?? "";
if (phase === "start") {
  const { run } = await startRun({
    store,
    agent,
    input: JSON.stringify({ orderId: "A-7" }),
    principal: { subject: "t", tenant: "default", roles: [] },
  });
  runId = run.runId;
  process.stdout.write(`RUN ${runId}\n`);
}
const worker = createWorker({
  store,
  agents: () => agent,
  governor: await testGovernor([agent]),
  owner: `workflow-crash-child-${process.pid}`,
  // As in the agent loop's crash test: a short lease for the process that is killed, a long one for the one that
  // resumes, so a stalled heartbeat on a loaded machine cannot interrupt the resumed call a second time.
  leaseTtlMs: phase === "start" ? 2_000 : 10_000,
  log: (line) => process.stderr.write(`workflow-crash-child: ${line}\n`),
});
worker.start();
for (;;) {
  const run = await store.getRun(runId);
  if (run?.status === "suspended" && crashAt === "wait") await hang();
  if (run && ["completed", "failed", "cancelled"].includes(run.status)) {
    process.stdout.write(`END ${run.status}\n`);
    break;
  }
  await store.waitForEvents({ runId, afterSeq: run?.lastSeq ?? 0, timeoutMs: 200 });
}
await worker.stop();
await store.close();
