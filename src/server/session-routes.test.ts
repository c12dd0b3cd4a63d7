import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type ServerType, serve } from "@hono/node-server";
import { z } from "zod";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import { testStores } from "../../test/support/test-database.ts";
import { testGovernor } from "../../test/support/test-governor.ts";
import { createKeelClient, type KeelClient } from "../client/index.ts";
import type { Principal } from "../journal/events.ts";
import type { GenerateOptions } from "../models/index.ts";
import { createScriptedModelProvider } from "../models/index.ts";
import { createAgentCatalog } from "../runtime/agent-catalog.ts";
import { createWorker, type Worker } from "../runtime/worker.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { defineTool } from "../tools/tool.ts";
import { createApp } from "./create-app.ts";

const me: Principal = { subject: "agent-desk", tenant: "default", roles: ["admin"] };
const stranger: Principal = { subject: "someone", tenant: "other", roles: ["admin"] };

/** What the echo agent's model was asked, by the input of the run that asked. */
const seen = new Map<string, GenerateOptions>();
const lastUser = (request: GenerateOptions) =>
  [...request.messages].reverse().find((message) => message.role === "user")?.content as string;
const echo = {
  ...scriptedAgent({ name: "echo", turns: [] }),
  provider: createScriptedModelProvider({
    turns: (request) => {
      const input = lastUser(request);
      // A copy: the run's state goes on growing after the call.
      seen.set(input, { ...request, messages: [...request.messages] });
      return { kind: "answer", text: `heard: ${input}` };
    },
  }),
};

/** A tool that waits until the test lets it go, so a run stays active while the test sends more. */
let release: () => void = () => undefined;
let waiting = false;
const wait = defineTool({
  name: "wait",
  description: "Waits for the test.",
  input: z.object({}),
  timeoutMs: 120_000,
  async execute() {
    await new Promise<void>((resolve) => {
      release = resolve;
      waiting = true;
    });
    waiting = false;
    return { waited: true };
  },
});
const slow = {
  ...scriptedAgent({ name: "slow", turns: [], tools: [wait] }),
  provider: createScriptedModelProvider({
    turns: (request) =>
      request.messages.at(-1)?.role === "tool"
        ? { kind: "answer", text: "waited" }
        : { kind: "tool-calls", calls: [{ callId: "w1", tool: "wait", arguments: {} }] },
  }),
};

async function until(check: () => Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function listen(app: { fetch: (request: Request) => Response | Promise<Response> }) {
  const server = await new Promise<ServerType>((resolve) => {
    const created = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(created));
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return { server, url: `http://127.0.0.1:${port}` };
}

for (const backend of testStores()) {
  describe(`sessions over HTTP on ${backend.name}`, () => {
    let store: SqlStore;
    let worker: Worker;
    let servers: ServerType[] = [];
    let client: KeelClient;
    let url: string;
    let otherUrl: string;

    before(async () => {
      store = await backend.open();
      const agents = createAgentCatalog([echo, slow]);
      const governor = await testGovernor([echo, slow]);
      worker = createWorker({
        store,
        agents: agents.lookup,
        governor,
        owner: "session-test",
        leaseTtlMs: 3_000,
      });
      worker.start();
      const mine = await listen(
        createApp({ store, agents, worker, governor, principal: me, log: () => undefined }),
      );
      const theirs = await listen(
        createApp({ store, agents, governor, principal: stranger, log: () => undefined }),
      );
      servers = [mine.server, theirs.server];
      url = mine.url;
      otherUrl = theirs.url;
      client = createKeelClient({ baseUrl: url, checkAnswers: true });
    });
    after(async () => {
      release();
      for (const server of servers) await new Promise<void>((resolve) => server.close(() => resolve()));
      await worker.stop();
      await store.close();
    });

    const post = (path: string, body: unknown, headers: Record<string, string> = {}, base = url) =>
      fetch(`${base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
      });
    const ended = async (runId: string) => {
      await until(async () => {
        const run = await store.getRun(runId);
        return run !== null && ["completed", "failed", "cancelled", "budget_exceeded"].includes(run.status);
      }, `run ${runId} to end`);
    };

    test("a session's messages start runs whose model reads the earlier turns, and GET answers the thread in order", async () => {
      const opened = await post("/v1/agents/echo/sessions", {
        subject: "customer-42",
        metadata: { channel: "web" },
      });
      assert.equal(opened.status, 201);
      const session = (await opened.json()) as { id: string; subject: string; turns: number };
      assert.equal(opened.headers.get("location"), `/v1/sessions/${session.id}`);
      assert.deepEqual([session.subject, session.turns], ["customer-42", 0]);

      for (const input of ["my name is Ada", "what is my name?", "thanks"]) {
        const sent = await post(`/v1/sessions/${session.id}/messages`, { input });
        assert.equal(sent.status, 202);
        const accepted = (await sent.json()) as {
          runId: string;
          id: string;
          sessionId: string;
          turn: number;
        };
        assert.equal(accepted.runId, accepted.id);
        assert.equal(accepted.sessionId, session.id);
        assert.equal(sent.headers.get("location"), `/v1/runs/${accepted.runId}`);
        await ended(accepted.runId);
      }

      // The third run's model read both earlier turns ahead of its own input, in order.
      assert.deepEqual(
        seen.get("thanks")?.messages.map((message) => [message.role, message.content]),
        [
          ["user", "my name is Ada"],
          ["assistant", "heard: my name is Ada"],
          ["user", "what is my name?"],
          ["assistant", "heard: what is my name?"],
          ["user", "thanks"],
        ],
      );
      const thread = await client.call("getSession", { params: { id: session.id } });
      assert.deepEqual(
        thread.messages.map((message) => [message.turn, message.role, message.content]),
        [
          [1, "user", "my name is Ada"],
          [1, "assistant", "heard: my name is Ada"],
          [2, "user", "what is my name?"],
          [2, "assistant", "heard: what is my name?"],
          [3, "user", "thanks"],
          [3, "assistant", "heard: thanks"],
        ],
      );
      assert.equal(thread.turns, 3);
      assert.deepEqual(
        thread.runs.map((run) => run.status),
        ["completed", "completed", "completed"],
      );
      // What was carried is in the third run's journal.
      const journal = await store.readEvents({ runId: thread.runs[2]!.runId });
      const carry = journal.find((event) => event.type === "context-carry");
      assert.equal(carry?.type === "context-carry" ? carry.payload.turnsCarried : -1, 2);
    });

    test("a repeated idempotency key, in the body or the Idempotency-Key header, answers the run it started", async () => {
      const { id } = await client.call("createSession", { params: { name: "echo" } });
      const first = await post(`/v1/sessions/${id}/messages`, { input: "once", idempotencyKey: "k-1" });
      assert.equal(first.status, 202);
      const { runId } = (await first.json()) as { runId: string };
      const again = await post(
        `/v1/sessions/${id}/messages`,
        { input: "once" },
        { "Idempotency-Key": "k-1" },
      );
      assert.equal(again.status, 200);
      assert.equal(((await again.json()) as { runId: string; created: boolean }).runId, runId);
      await ended(runId);
      const thread = await client.call("getSession", { params: { id } });
      assert.equal(thread.turns, 1);
      assert.equal(thread.messages.filter((message) => message.role === "user").length, 1);
      // The same key in another session is another message.
      const other = await client.call("createSession", { params: { name: "echo" } });
      const elsewhere = await post(`/v1/sessions/${other.id}/messages`, {
        input: "once",
        idempotencyKey: "k-1",
      });
      assert.equal(elsewhere.status, 202);
      assert.notEqual(((await elsewhere.json()) as { runId: string }).runId, runId);
    });

    test("a message while the session's previous run is still going is refused with 409, and accepted once it ends", async () => {
      const { id } = await client.call("createSession", { params: { name: "slow" } });
      const first = await post(`/v1/sessions/${id}/messages`, { input: "wait for me" });
      const { runId } = (await first.json()) as { runId: string };
      const refused = await post(`/v1/sessions/${id}/messages`, { input: "are you there?" });
      assert.equal(refused.status, 409);
      const error = (await refused.json()) as { error: { code: string; message: string } };
      assert.equal(error.error.code, "conflict");
      assert.match(error.error.message, /still answering its message 1/);
      // Leased, the run reads running before its first step (journaled when that read-only step ends) is written.
      await until(async () => (await store.getRun(runId))?.status === "running", "the run to start");
      await until(async () => waiting, "the run's tool to be waiting");
      release();
      await ended(runId);
      const next = await post(`/v1/sessions/${id}/messages`, { input: "now?" });
      assert.equal(next.status, 202);
      const second = (await next.json()) as { runId: string; turn: number };
      assert.equal(second.turn, 2);
      assert.equal((await store.getRun(runId))?.status, "completed");
      await until(async () => waiting, "the second run's tool to be waiting");
      release();
      await ended(second.runId);
    });

    test("GET answers the user/assistant thread by default, and with tools=true each turn's tool calls and results too", async () => {
      const { id } = await client.call("createSession", { params: { name: "slow" } });
      const sent = await post(`/v1/sessions/${id}/messages`, { input: "wait for me" });
      const { runId } = (await sent.json()) as { runId: string };
      await until(async () => waiting, "the run's tool to be waiting");
      release();
      await ended(runId);

      const plain = await client.call("getSession", { params: { id } });
      assert.deepEqual(
        plain.messages.map((message) => [message.role, message.content]),
        [
          ["user", "wait for me"],
          ["assistant", "waited"],
        ],
      );
      const withTools = await client.call("getSession", { params: { id }, query: { tools: "true" } });
      assert.deepEqual(withTools.messages, [
        { role: "user", content: "wait for me", turn: 1, runId },
        {
          role: "assistant",
          content: "",
          toolCalls: [{ callId: "w1", tool: "wait", arguments: {} }],
          turn: 1,
          runId,
        },
        {
          role: "tool",
          callId: "w1",
          tool: "wait",
          content: { waited: true },
          isError: false,
          turn: 1,
          runId,
        },
        { role: "assistant", content: "waited", turn: 1, runId },
      ]);
      const refused = await fetch(`${url}/v1/sessions/${id}?tools=maybe`);
      assert.equal(refused.status, 400);
      assert.match(await refused.text(), /tools/);
    });

    test("bad bodies and queries answer 400 naming the field; unknown and deleted sessions answer 404", async () => {
      const { id } = await client.call("createSession", { params: { name: "echo" } });
      const empty = await post(`/v1/sessions/${id}/messages`, { input: "" });
      assert.equal(empty.status, 400);
      assert.equal(
        ((await empty.json()) as { error: { issues: { path: string }[] } }).error.issues[0]?.path,
        "input",
      );
      const unknown = await post(`/v1/sessions/${id}/messages`, { input: "hi", sessionId: "x" });
      assert.equal(unknown.status, 400);
      const badMetadata = await post("/v1/agents/echo/sessions", { metadata: "nope" });
      assert.equal(badMetadata.status, 400);
      assert.match(JSON.stringify(await badMetadata.json()), /metadata/);
      const badLimit = await fetch(`${url}/v1/sessions?limit=0`);
      assert.equal(badLimit.status, 400);
      assert.match(JSON.stringify(await badLimit.json()), /limit/);
      const keyClash = await post(
        `/v1/sessions/${id}/messages`,
        { input: "hi", idempotencyKey: "a" },
        { "Idempotency-Key": "b" },
      );
      assert.equal(keyClash.status, 400);

      assert.equal((await fetch(`${url}/v1/sessions/ses_missing`)).status, 404);
      assert.equal((await post("/v1/sessions/ses_missing/messages", { input: "hi" })).status, 404);
      assert.equal((await post("/v1/agents/nobody/sessions", {})).status, 404);
      // Another tenant's session is as absent as a missing one.
      assert.equal((await fetch(`${otherUrl}/v1/sessions/${id}`)).status, 404);
      assert.equal((await post(`/v1/sessions/${id}/messages`, { input: "hi" }, {}, otherUrl)).status, 404);

      const deleted = await fetch(`${url}/v1/sessions/${id}`, { method: "DELETE" });
      assert.equal(deleted.status, 200);
      assert.deepEqual(await deleted.json(), { id, deleted: true });
      assert.equal((await fetch(`${url}/v1/sessions/${id}`)).status, 404);
      assert.equal((await post(`/v1/sessions/${id}/messages`, { input: "hi" })).status, 404);
      assert.equal((await fetch(`${url}/v1/sessions/${id}`, { method: "DELETE" })).status, 404);
    });

    test("GET /v1/sessions lists the tenant's sessions newest first, by agent, a page at a time", async () => {
      const made = [];
      for (let index = 0; index < 3; index++)
        made.push(await client.call("createSession", { params: { name: "slow" } }));
      const firstPage = await client.call("listSessions", { query: { agent: "slow", limit: "2" } });
      assert.deepEqual(
        firstPage.sessions.map((session) => session.id),
        [made[2]!.id, made[1]!.id],
      );
      // Paged on with the cursor: sessions opened in one millisecond are told apart by their stored instant and id.
      const nextPage = await client.call("listSessions", {
        query: { agent: "slow", limit: "2", cursor: firstPage.nextCursor! },
      });
      assert.equal(nextPage.sessions[0]?.id, made[0]!.id);
      assert.ok(nextPage.sessions.every((session) => session.agent === "slow"));
      const theirs = await fetch(`${otherUrl}/v1/sessions`);
      assert.deepEqual(await theirs.json(), { sessions: [], nextCursor: null });
      const malformed = await fetch(`${url}/v1/sessions?cursor=${firstPage.nextCursor!.slice(1)}`);
      assert.equal(malformed.status, 400);
      const { error } = (await malformed.json()) as { error: { issues: { path: string }[] } };
      assert.equal(error.issues[0]?.path, "cursor");
    });
  });
}
