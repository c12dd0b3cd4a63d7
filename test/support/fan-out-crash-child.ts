/**
 * A worker process for the fan-out crash test. `start` creates a run of a workflow whose parallel node makes a tool
 * call (a), starts a child agent run (b) and makes a second tool call (c), and drives it; `resume` drives whatever is
 * runnable until that run ends. With CRASH_AT=fan, c hangs after its side effect: the parent SIGKILLs the process
 * there, with a settled, b started (perhaps finished) and c's effect applied but its end not journaled.
 */
import { z } from "zod";
import { startRun } from "../../src/runtime/start-run.ts";
import { createWorker } from "../../src/runtime/worker.ts";
import { defineWorkflow } from "../../src/spec/index.ts";
import { openStore } from "../../src/store/open-store.ts";
import { defineTool } from "../../src/tools/tool.ts";
import { scriptedAgent } from "./scripted-agent.ts";
import { testGovernor } from "./test-governor.ts";

const [mode, target, phase, runIdArgument] = process.argv.slice(2);
const crashAt = process.env.CRASH_AT ?? "";
const store = await openStore(mode === "postgres" ? { databaseUrl: target! } : { dataDir: target! });
await store.sql.query("CREATE TABLE IF NOT EXISTS fan_effects (key text PRIMARY KEY)");
await store.sql.query("CREATE TABLE IF NOT EXISTS fan_executions (name text NOT NULL, key text NOT NULL)");

const hang = () => new Promise<never>(() => undefined);
/** A side effect once per idempotency key, whose reconcile hook finds an attempt that applied it. */
const effect = defineTool({
  name: "effect",
  description: "Applies one effect per key.",
  input: z.object({ name: z.string() }),
  sideEffect: true,
  async execute({ name }, { idempotencyKey }) {
    // The execution and the effect in one statement: a kill between two statements would leave an execution whose
    // effect the reconcile hook cannot see, and the retry under the same key would count as a second one.
    await store.sql.query(
      `WITH executed AS (INSERT INTO fan_executions (name, key) VALUES ($1, $2))
       INSERT INTO fan_effects (key) VALUES ($2) ON CONFLICT DO NOTHING`,
      [name, idempotencyKey],
    );
    if (crashAt === "fan" && name === "c") {
      process.stdout.write("HANGING\n");
      await hang();
    }
    return name;
  },
  async reconcile(_input, { idempotencyKey }) {
    const { rows } = await store.sql.query("SELECT 1 FROM fan_effects WHERE key = $1", [idempotencyKey]);
    return rows.length > 0 ? { applied: true, result: _input.name } : { applied: false };
  },
});

const sub = scriptedAgent({
  name: "fan-sub",
  turns: [
    { kind: "tool-calls", calls: [{ callId: "s1", tool: "effect", arguments: { name: "b" } }] },
    { kind: "answer", text: "b" },
  ],
  tools: [effect],
  runTimeout: 60_000,
  toolTimeout: 60_000,
});
const workflow = defineWorkflow({
  name: "fan-crash",
  version: "1.0.0",
  description: "A tool, a child run and a tool, at once.",
  owner: { team: "qa" },
  riskTier: 2,
  state: { found: { type: "array", reducer: "append" } },
  start: "fan",
  nodes: {
    fan: {
      parallel: {
        branches: {
          a: { tool: { name: "effect", args: { name: "a" } } },
          b: { agent: { name: "fan-sub", input: "b" } },
          c: { tool: { name: "effect", args: { name: "c" } } },
        },
        join: "all",
      },
      writes: "found",
      next: "done",
    },
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a workflow template, filled in by the interpreter
    done: { end: { output: "${state.found}" } },
  },
  limits: { maxSteps: 5 },
});
const parent = {
  ...scriptedAgent({
    name: "fan-crash",
    turns: [],
    tools: [effect],
    runTimeout: 60_000,
    toolTimeout: 60_000,
  }),
  workflow,
};
const agents = [parent, sub];

let runId = runIdArgument ?? "";
if (phase === "start") {
  const { run } = await startRun({
    store,
    agent: parent,
    input: "go",
    principal: { subject: "t", tenant: "default", roles: [] },
  });
  runId = run.runId;
  process.stdout.write(`RUN ${runId}\n`);
}
const worker = createWorker({
  store,
  agents: (name) => agents.find((agent) => agent.name === name),
  agentNamed: (name) => agents.find((agent) => agent.name === name),
  governor: await testGovernor(agents),
  owner: `fan-crash-${process.pid}`,
  leaseTtlMs: phase === "start" ? 2_000 : 10_000,
  log: (line) => process.stderr.write(`fan-out-crash-child: ${line}\n`),
});
worker.start();
for (;;) {
  const run = await store.getRun(runId);
  if (run && ["completed", "failed", "cancelled"].includes(run.status)) {
    process.stdout.write(`END ${run.status}\n`);
    break;
  }
  await store.waitForEvents({ runId, afterSeq: run?.lastSeq ?? 0, timeoutMs: 200 });
}
await worker.stop();
await store.close();
