/**
 * A Keel server process (HTTP API and worker on one store) for the session crash test. `start` opens a session,
 * sends it a first message (answered after a tool call) and waits for its answer, then sends a second whose tool
 * call hangs (with CRASH_AT=tool), so the parent can SIGKILL the process mid-turn. `resume` serves the same store:
 * its worker takes the interrupted run over once its lease expires, and once that run has ended it sends the
 * session a third message. Every model request is recorded in `session_crash_requests`, so the parent can see what
 * each turn's model read.
 */
import { type ServerType, serve } from "@hono/node-server";
import { z } from "zod";
import { createScriptedModelProvider, type GenerateOptions } from "../../src/models/index.ts";
import { createAgentCatalog } from "../../src/runtime/agent-catalog.ts";
import { createWorker } from "../../src/runtime/worker.ts";
import { createApp } from "../../src/server/create-app.ts";
import { openStore } from "../../src/store/open-store.ts";
import { defineTool } from "../../src/tools/tool.ts";
import { scriptedAgent } from "./scripted-agent.ts";
import { testGovernor } from "./test-governor.ts";

const [mode, target, phase, sessionArgument] = process.argv.slice(2);
const crashAt = process.env.CRASH_AT ?? "";
const store = await openStore(mode === "postgres" ? { databaseUrl: target! } : { dataDir: target! });
await store.sql.query(
  "CREATE TABLE IF NOT EXISTS session_crash_requests (id serial PRIMARY KEY, input text NOT NULL, messages jsonb NOT NULL)",
);

// Armed once the first turn has ended: the second turn's lookup hangs. A count of calls would not do, since a
// loaded machine may take the first turn's short lease back and run its lookup again.
let hangArmed = false;
const lookup = defineTool({
  name: "lookup",
  description: "Looks the order up (declared side-effecting, so its start is durable before it runs).",
  input: z.object({}),
  sideEffect: true,
  async execute() {
    // The first turn's lookup returns; the second turn's hangs, so the run killed mid-turn carries a tool turn.
    if (crashAt === "tool" && hangArmed) {
      process.stdout.write("HANGING\n");
      await new Promise<never>(() => undefined);
    }
    return { order: "A-17", status: "shipped" };
  },
});
const FIRST = "hello, I am Ada: has order A-17 shipped?";
const lastUser = (request: GenerateOptions) =>
  [...request.messages].reverse().find((message) => message.role === "user")?.content as string;
const agent = {
  ...scriptedAgent({ name: "desk", turns: [], tools: [lookup], runTimeout: 60_000, toolTimeout: 60_000 }),
  provider: createScriptedModelProvider({
    turns: (request) => {
      const input = lastUser(request);
      if (input.includes("order") && request.messages.at(-1)?.role === "user") {
        const callId = `lookup-${request.messages.length}`;
        return { kind: "tool-calls", calls: [{ callId, tool: "lookup", arguments: {} }] };
      }
      return { kind: "answer", text: `re: ${input}` };
    },
  }),
};
const recordingProvider = agent.provider;
agent.provider = {
  ...recordingProvider,
  async generate(request) {
    await store.sql.query(
      "INSERT INTO session_crash_requests (input, messages) VALUES ($1, $2::text::jsonb)",
      [lastUser(request), JSON.stringify(request.messages)],
    );
    return await recordingProvider.generate(request);
  },
};

const governor = await testGovernor([agent]);
const agents = createAgentCatalog([agent]);
const worker = createWorker({
  store,
  agents: agents.lookup,
  governor,
  owner: `session-crash-${process.pid}`,
  // As in crash-child.ts: the killed worker's short lease is taken over quickly, the resuming one's is long.
  leaseTtlMs: phase === "start" ? 2_000 : 10_000,
  log: (line) => process.stderr.write(`session-crash-child: ${line}\n`),
});
const app = createApp({
  store,
  agents,
  worker,
  governor,
  principal: { subject: "desk-user", tenant: "default", roles: ["admin"] },
  log: () => undefined,
});
const server = await new Promise<ServerType>((resolve) => {
  const created = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(created));
});
const address = server.address();
const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
worker.start();

const post = async (path: string, body: unknown) => {
  const response = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};
const ended = async (runId: string) => {
  for (;;) {
    const run = await store.getRun(runId);
    if (run && ["completed", "failed", "cancelled", "budget_exceeded"].includes(run.status))
      return run.status;
    await store.waitForEvents({ runId, afterSeq: run?.lastSeq ?? 0, timeoutMs: 200 });
  }
};

if (phase === "start") {
  const opened = await post("/v1/agents/desk/sessions", { subject: "customer-9" });
  const sessionId = opened.body.id as string;
  process.stdout.write(`SESSION ${sessionId}\n`);
  const first = await post(`/v1/sessions/${sessionId}/messages`, { input: FIRST });
  await ended(first.body.runId as string);
  hangArmed = true;
  const second = await post(`/v1/sessions/${sessionId}/messages`, {
    input: "where is my order?",
    idempotencyKey: "m-2",
  });
  process.stdout.write(`RUN ${second.body.runId as string}\n`);
  // The tool hangs; the parent kills this process.
  await new Promise<never>(() => undefined);
}

const sessionId = sessionArgument!;
const thread = (await (await fetch(`${url}/v1/sessions/${sessionId}`)).json()) as {
  runs: { runId: string }[];
};
// The client retries its second message after the crash, with the same key: it gets the same run back.
const retried = await post(`/v1/sessions/${sessionId}/messages`, {
  input: "where is my order?",
  idempotencyKey: "m-2",
});
process.stdout.write(`RETRY ${retried.status} ${retried.body.runId as string}\n`);
await ended(thread.runs.at(-1)!.runId);
const third = await post(`/v1/sessions/${sessionId}/messages`, { input: "thanks, bye" });
process.stdout.write(`END ${await ended(third.body.runId as string)}\n`);
await new Promise<void>((resolve) => server.close(() => resolve()));
await worker.stop();
await store.close();
