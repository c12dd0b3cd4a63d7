import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { type ServerType, serve } from "@hono/node-server";
import { Hono } from "hono";
import { z } from "zod";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import { testStores } from "../../test/support/test-database.ts";
import { testGovernor } from "../../test/support/test-governor.ts";
import { createApiClient } from "../cli/api-client.ts";
import { parseSse, readSse, type SseMessage } from "../cli/read-sse.ts";
import type { JournalEvent } from "../journal/events.ts";
import { type LoopbackProvider, startLoopbackProvider } from "../models/loopback/loopback-provider-server.ts";
import { createModelGateway, routedModelProvider } from "../models/model-gateway.ts";
import { createOpenAIModelProvider } from "../models/openai-model-provider.ts";
import { createPriceTable } from "../models/price-table.ts";
import { createScriptedModelProvider } from "../models/scripted-model-provider.ts";
import { splitIntoDeltas } from "../models/stream-turn-in-deltas.ts";
import { createAgentCatalog } from "../runtime/agent-catalog.ts";
import type { AgentDefinition } from "../runtime/agent-definition.ts";
import type { TextDelta } from "../runtime/live-text.ts";
import { createWorker, type Worker } from "../runtime/worker.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { defineTool } from "../tools/tool.ts";
import { createApp } from "./create-app.ts";
import { streamRunEvents } from "./stream-run-events.ts";

const ANSWER =
  "Order 1042 left the warehouse yesterday and should reach you on Thursday; the tracking number is ZX-88.";

const lookup = defineTool({
  name: "lookup",
  description: "Look an order up.",
  input: z.object({ order: z.string() }),
  async execute({ order }) {
    return { order, status: "shipped" };
  },
});

/** An agent whose model is OpenAI's Chat Completions wire, served by a loopback server, through the gateway. */
function streamingAgent(server: LoopbackProvider): AgentDefinition {
  const gateway = createModelGateway({
    priceTable: createPriceTable(),
    resilience: { initialDelayMs: 5, maxDelayMs: 10, maxAttempts: 1, attemptTimeoutMs: 10_000 },
    resolveTarget: (ref) => ({
      adapter: createOpenAIModelProvider({ model: ref.model, apiKey: "k", baseUrl: server.baseUrl }),
      keyId: "OPENAI_API_KEY",
    }),
  });
  const base = scriptedAgent({ name: "streamer", turns: [], tools: [lookup], maxSteps: 6 });
  return {
    ...base,
    provider: routedModelProvider({
      gateway,
      policy: {
        primary: { provider: "openai", model: "gpt-4o" },
        fallbacks: [],
        rules: [],
        promptCaching: true,
      },
      agent: base.name,
    }),
  };
}

const slowLookup = defineTool({
  name: "slow_lookup",
  description: "Look an order up, slowly.",
  input: z.object({ order: z.string() }),
  async execute({ order }) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    return { order, status: "shipped" };
  },
});

/**
 * An agent on the `scripted` double: a slow tool call first (an offline stand-in streams only to someone already
 * watching, and this lets the client start), then its answer, streamed word by word.
 */
function offlineAgent(): AgentDefinition {
  return {
    ...scriptedAgent({ name: "offline", turns: [], tools: [slowLookup] }),
    provider: createScriptedModelProvider({
      turns: [
        { kind: "tool-calls", calls: [{ callId: "s1", tool: "slow_lookup", arguments: { order: "1042" } }] },
        { kind: "answer", text: ANSWER },
      ],
      deltaDelayMs: 5,
    }),
  };
}

/** What a text-delta client saw on one connection: the deltas and the journaled events, in arrival order. */
type Seen = { deltas: TextDelta[]; events: JournalEvent[]; order: (TextDelta | JournalEvent)[] };

function record(seen: Seen, message: SseMessage): void {
  if (message.event === "text-delta") {
    const delta = JSON.parse(message.data) as TextDelta;
    seen.deltas.push(delta);
    seen.order.push(delta);
  } else {
    const event = JSON.parse(message.data) as JournalEvent;
    seen.events.push(event);
    seen.order.push(event);
  }
}

/** Start a run of `agent` over HTTP and read its whole event stream, to its run-end, on one connection. */
async function watchNewRun(base: string, agent: string, input: string): Promise<{ id: string; seen: Seen }> {
  const client = createApiClient(base);
  const created = await client.call("createRun", { params: { name: agent }, body: { input } });
  const seen: Seen = { deltas: [], events: [], order: [] };
  for await (const message of readSse({
    client,
    path: `/v1/runs/${created.id}/events`,
    isLast: (m) => m.event === "run-end",
  })) {
    record(seen, message);
  }
  return { id: created.id, seen };
}

function ends(events: readonly JournalEvent[]) {
  return events.filter(
    (event): event is Extract<JournalEvent, { type: "model-call-end" }> => event.type === "model-call-end",
  );
}

for (const kind of testStores()) {
  describe(`a run's text deltas over SSE (${kind.name})`, () => {
    let store: SqlStore;
    let provider: LoopbackProvider;
    let worker: Worker;
    let server: ServerType;
    let base: string;

    before(async () => {
      store = await kind.open();
      provider = await startLoopbackProvider({ wire: "openai" });
      const agent = streamingAgent(provider);
      const agents = createAgentCatalog([agent, offlineAgent()]);
      worker = createWorker({
        store,
        agents: agents.lookup,
        governor: await testGovernor([agent, offlineAgent()]),
        owner: "stream-test",
        leaseTtlMs: 5_000,
      });
      const app = createApp({ store, agents, worker, log: () => undefined });
      worker.start();
      server = await new Promise<ServerType>((resolve) => {
        const created = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(created));
      });
      const address = server.address();
      base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
    });
    after(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await worker.stop();
      await provider.close();
      await store.close();
    });
    beforeEach(() => {
      provider.requests.length = 0;
    });

    test("a client sees every delta once and in order, and the journaled answer is their concatenation", async () => {
      provider.push(
        {
          reply: {
            text: "Let me look that order up.",
            toolCalls: [{ id: "t1", name: "lookup", arguments: { order: "1042" } }],
            usage: { input: 200, output: 20 },
          },
          chunkDelayMs: 10,
        },
        { reply: { text: ANSWER, usage: { input: 300, output: 30 } }, chunkDelayMs: 10 },
      );
      const { id: runId, seen } = await watchNewRun(base, "streamer", "1042?");
      const modelEnds = ends(seen.events);
      assert.equal(modelEnds.length, 2);
      for (const end of modelEnds) {
        const turn = seen.deltas.filter((delta) => delta.turn === end.payload.step);
        assert.ok(turn.length > 1, `turn ${end.payload.step} streamed in several deltas`);
        assert.deepEqual(
          turn.map((delta) => delta.index),
          turn.map((_, index) => index),
          "each delta once, in order",
        );
        assert.equal(turn.map((delta) => delta.delta).join(""), end.payload.decision?.text);
        // Every delta of a turn arrives before the model-call-end that journals the turn's whole text.
        const endAt = seen.order.indexOf(end);
        assert.ok(turn.every((delta) => seen.order.indexOf(delta) < endAt));
      }
      const runEnd = seen.events.at(-1);
      assert.ok(runEnd?.type === "run-end");
      assert.equal(runEnd.payload.answer, ANSWER);
      // Only the whole text is journaled: the run's journal holds no delta.
      const journal = await store.readEvents({ runId });
      assert.deepEqual(
        journal.map((event) => event.seq),
        seen.events.map((event) => event.seq),
      );
      assert.equal(worker.liveText.size, 0, "nothing is left behind once the run has ended");
    });

    test("an offline stand-in's answer streams word by word to a client watching the run", async () => {
      const { seen } = await watchNewRun(base, "offline", "x");
      assert.deepEqual(
        seen.deltas.map((delta) => delta.delta),
        splitIntoDeltas(ANSWER),
      );
      assert.ok(seen.deltas.every((delta, index) => delta.index === index && delta.turn === 2));
      const end = ends(seen.events).at(-1);
      assert.equal(end?.payload.step, 2);
      assert.equal(end?.payload.decision?.text, ANSWER);
    });

    test("a delta never arrives before an event journaled before it, even when a read of the journal is slow", async () => {
      // Each read of the journal returns what it saw only after the tool call has ended, been journaled, and the
      // answer has streamed: the deltas that arrive meanwhile follow a tool-call-end the read did not see.
      const slowReads = new Proxy(store, {
        get(target, property) {
          if (property === "readEvents")
            return async (query: Parameters<SqlStore["readEvents"]>[0]) => {
              const events = await target.readEvents(query);
              await new Promise((resolve) => setTimeout(resolve, 600));
              return events;
            };
          const value = Reflect.get(target, property, target) as unknown;
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
      const app = new Hono().get("/events/:id", (context) =>
        streamRunEvents(context, {
          store: slowReads,
          runId: context.req.param("id"),
          afterSeq: 0,
          live: worker.liveText,
          replay: true,
        }),
      );
      const created = await createApiClient(base).call("createRun", {
        params: { name: "offline" },
        body: { input: "x" },
      });
      const response = await app.request(`/events/${created.id}`);
      const seen: Seen = { deltas: [], events: [], order: [] };
      for await (const message of parseSse(response.body!)) record(seen, message);
      const toolEnd = seen.order.findIndex((each) => "type" in each && each.type === "tool-call-end");
      const firstDelta = seen.order.findIndex((each) => "delta" in each);
      assert.ok(
        toolEnd >= 0 && firstDelta > toolEnd,
        `tool-call-end at ${toolEnd}, first delta at ${firstDelta}`,
      );
      assert.equal(seen.deltas.map((delta) => delta.delta).join(""), ANSWER);
    });

    test("text deltas carry no SSE id, so Last-Event-ID keeps naming the last journaled event", async () => {
      provider.push({ reply: { text: ANSWER, usage: { input: 10, output: 30 } }, chunkDelayMs: 10 });
      const client = createApiClient(base);
      const created = await client.call("createRun", { params: { name: "streamer" }, body: { input: "x" } });
      const response = await fetch(`${base}/v1/runs/${created.id}/events`);
      const raw = await response.text();
      const frames = raw.split("\n\n").filter((frame) => frame.trim().length > 0);
      const deltas = frames.filter((frame) => frame.includes("event: text-delta"));
      assert.ok(deltas.length > 1);
      for (const frame of deltas) {
        assert.ok(!/^id:/m.test(frame), `a delta frame has no id: ${frame}`);
        assert.deepEqual(Object.keys(JSON.parse(frame.split("data: ")[1]!) as object).sort(), [
          "delta",
          "index",
          "turn",
        ]);
      }
      const journaled = frames.filter((frame) => !frame.includes("event: text-delta"));
      assert.ok(journaled.every((frame) => /^id: \d+$/m.test(frame)));
    });

    test("a client that reconnects mid-turn with Last-Event-ID never sees a delta twice", async () => {
      provider.push({
        reply: { text: ANSWER.repeat(3), usage: { input: 10, output: 90 } },
        chunkDelayMs: 15,
      });
      const client = createApiClient(base);
      const created = await client.call("createRun", { params: { name: "streamer" }, body: { input: "y" } });
      const seen: Seen = { deltas: [], events: [], order: [] };
      const controller = new AbortController();
      const first = await fetch(`${base}/v1/runs/${created.id}/events`, { signal: controller.signal });
      let lastId: string | null = null;
      for await (const message of parseSse(first.body!)) {
        record(seen, message);
        if (message.event !== "text-delta") lastId = message.id;
        if (seen.deltas.length === 4) break;
      }
      controller.abort();
      assert.ok(lastId !== null);
      const rest = await fetch(`${base}/v1/runs/${created.id}/events`, {
        headers: { "last-event-id": lastId },
      });
      for await (const message of parseSse(rest.body!)) record(seen, message);
      const keys = seen.deltas.map((delta) => `${delta.turn}:${delta.index}`);
      assert.equal(new Set(keys).size, keys.length, "no delta twice");
      const indexes = seen.deltas.map((delta) => delta.index);
      assert.deepEqual(
        indexes,
        [...indexes].sort((a, b) => a - b),
        "in order",
      );
      // The text a client may have missed while away arrives whole in the journaled model-call-end.
      const [end] = ends(seen.events);
      assert.equal(end?.payload.decision?.text, ANSWER.repeat(3));
      assert.deepEqual(
        seen.events.map((event) => event.seq),
        seen.events.map((_, index) => index + 1),
      );
    });
  });

  describe(`a run another process interprets, over SSE (${kind.name})`, () => {
    test("a client of a process that does not run it sees no delta and the whole text once, journaled", async () => {
      const store = await kind.open();
      const provider = await startLoopbackProvider({ wire: "openai" });
      provider.push({ reply: { text: ANSWER, usage: { input: 10, output: 30 } }, chunkDelayMs: 10 });
      const agent = streamingAgent(provider);
      const agents = createAgentCatalog([agent]);
      const governor = await testGovernor([agent]);
      // The serving process's worker takes no runs of this agent; a worker of its own (`keel worker`) does.
      const serving = createWorker({
        store,
        agents: agents.lookup,
        governor,
        owner: "serve",
        claimAgents: ["none"],
      });
      const separate = createWorker({ store, agents: agents.lookup, governor, owner: "worker" });
      const app = createApp({ store, agents, worker: serving, log: () => undefined });
      serving.start();
      separate.start();
      const server = await new Promise<ServerType>((resolve) => {
        const created = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(created));
      });
      const address = server.address();
      const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
      try {
        const { seen } = await watchNewRun(url, "streamer", "z");
        assert.deepEqual(seen.deltas, []);
        const modelEnds = ends(seen.events);
        assert.equal(modelEnds.length, 1);
        assert.equal(modelEnds[0]?.payload.decision?.text, ANSWER);
        const runEnd = seen.events.at(-1);
        assert.ok(runEnd?.type === "run-end");
        assert.equal(runEnd.payload.answer, ANSWER);
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await serving.stop();
        await separate.stop();
        await provider.close();
        await store.close();
      }
    });
  });
}
