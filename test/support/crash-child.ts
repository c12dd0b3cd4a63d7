/**
 * A worker process for the crash test. `start` creates a run and drives it; `resume` drives whatever is
 * runnable until the run ends. With CRASH_AT=charge it hangs inside the first tool after its side effect;
 * with CRASH_AT=between it hangs in the second tool, after the first finished. The parent SIGKILLs it there.
 */
import { z } from "zod";
import { startRun } from "../../src/runtime/start-run.ts";
import { createWorker } from "../../src/runtime/worker.ts";
import { openStore } from "../../src/store/open-store.ts";
import { defineTool } from "../../src/tools/tool.ts";
import { scriptedAgent } from "./scripted-agent.ts";
import { testGovernor } from "./test-governor.ts";

const [mode, target, phase, runIdArgument] = process.argv.slice(2);
const crashAt = process.env.CRASH_AT ?? "";
const store = await openStore(mode === "postgres" ? { databaseUrl: target! } : { dataDir: target! });
await store.sql.query("CREATE TABLE IF NOT EXISTS crash_effects (key text PRIMARY KEY)");
await store.sql.query("CREATE TABLE IF NOT EXISTS crash_executions (tool text NOT NULL, key text NOT NULL)");

const hang = () => new Promise<never>(() => undefined);
const charge = defineTool({
  name: "charge",
  description: "Charge once per idempotency key.",
  input: z.object({ cents: z.number() }),
  sideEffect: true,
  async execute(_input, { idempotencyKey }) {
    await store.sql.query("INSERT INTO crash_executions (tool, key) VALUES ('charge', $1)", [idempotencyKey]);
    await store.sql.query("INSERT INTO crash_effects (key) VALUES ($1) ON CONFLICT DO NOTHING", [
      idempotencyKey,
    ]);
    if (crashAt === "charge") {
      process.stdout.write("HANGING\n");
      await hang();
    }
    return { charged: true };
  },
});
const notify = defineTool({
  name: "notify",
  description: "Second step.",
  input: z.object({}),
  sideEffect: true,
  async execute(_input, { idempotencyKey }) {
    await store.sql.query("INSERT INTO crash_executions (tool, key) VALUES ('notify', $1)", [idempotencyKey]);
    if (crashAt === "between") {
      process.stdout.write("HANGING\n");
      await hang();
    }
    return { sent: true };
  },
});
const agent = scriptedAgent({
  name: "crasher",
  turns: [
    { kind: "tool-calls", calls: [{ callId: "c1", tool: "charge", arguments: { cents: 500 } }] },
    { kind: "tool-calls", calls: [{ callId: "c2", tool: "notify", arguments: {} }] },
    { kind: "answer", text: "done" },
  ],
  tools: [charge, notify],
  runTimeout: 60_000,
  toolTimeout: 60_000,
});

let runId = runIdArgument ?? "";
if (phase === "start") {
  const { run } = await startRun({
    store,
    agent,
    input: "charge and notify",
    principal: { subject: "t", tenant: "default", roles: [] },
  });
  runId = run.runId;
  process.stdout.write(`RUN ${runId}\n`);
}
const worker = createWorker({
  store,
  agents: () => agent,
  governor: await testGovernor([agent]),
  owner: `crash-child-${process.pid}`,
  // The worker that is killed holds a short lease, about as long as the next process takes to start and open the
  // store, so the takeover waits little for it; long enough that a heartbeat stalled on a loaded machine does not
  // lose the run before the kill (a lost lease runs finished work again, which the tests count). The one that
  // resumes holds a long one, so a stalled heartbeat cannot make it lose the run mid-call (twice interrupted, a
  // side-effecting call ends in doubt and goes to a person instead of completing).
  leaseTtlMs: phase === "start" ? 2_000 : 10_000,
  log: (line) => process.stderr.write(`crash-child: ${line}\n`),
});
worker.start();
for (;;) {
  const run = await store.getRun(runId);
  // A suspended run waits for a person: report it rather than wait for ever.
  if (run && ["completed", "failed", "cancelled", "suspended"].includes(run.status)) {
    process.stdout.write(`END ${run.status}\n`);
    break;
  }
  await store.waitForEvents({ runId, afterSeq: run?.lastSeq ?? 0, timeoutMs: 200 });
}
await worker.stop();
await store.close();
