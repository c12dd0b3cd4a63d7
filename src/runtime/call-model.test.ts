import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { z } from "zod";
import { driveRun } from "../../test/support/drive-run.ts";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import type { BudgetLimits } from "../governance/budget-ledger.ts";
import { createSqlBudgetLedger } from "../governance/budget-ledger-sql.ts";
import type { Governor } from "../governance/governor.ts";
import type { JournalEvent } from "../journal/events.ts";
import { createAnthropicModelProvider } from "../models/anthropic-model-provider.ts";
import { type LoopbackProvider, startLoopbackProvider } from "../models/loopback/loopback-provider-server.ts";
import { createModelGateway, routedModelProvider } from "../models/model-gateway.ts";
import { createPriceTable } from "../models/price-table.ts";
import { openStore } from "../store/open-store.ts";
import type { Store } from "../store/store.ts";
import { defineTool } from "../tools/tool.ts";
import type { AgentDefinition } from "./agent-definition.ts";
import { createLiveText, type TextDelta } from "./live-text.ts";

const MODEL = "claude-sonnet-4-5-20250929";
const principal = { subject: "tester", tenant: "acme", roles: [] };

const lookup = defineTool({
  name: "lookup",
  description: "Look a thing up.",
  input: z.object({ id: z.string() }),
  async execute({ id }) {
    if (id === "broken") throw new Error("the lookup service is down");
    return { id, found: true };
  },
});

let store: Store;
let server: LoopbackProvider;
before(async () => {
  store = await openStore({});
  server = await startLoopbackProvider({ wire: "anthropic" });
});
after(async () => {
  await server.close();
  await store.close();
});
beforeEach(() => {
  server.requests.length = 0;
  server.setDefault({ reply: { text: "done", usage: { input: 1_000, output: 100 } } });
});

function agentOnGateway(options: { budgets?: BudgetLimits; maxAttempts?: number } = {}): AgentDefinition {
  const gateway = createModelGateway({
    priceTable: createPriceTable(),
    resilience: {
      initialDelayMs: 5,
      maxDelayMs: 10,
      maxAttempts: options.maxAttempts ?? 2,
      attemptTimeoutMs: 2_000,
    },
    resolveTarget: (ref) => ({
      adapter: createAnthropicModelProvider({ model: ref.model, apiKey: "k", baseUrl: server.baseUrl }),
      keyId: "ANTHROPIC_API_KEY",
    }),
  });
  const base = scriptedAgent({ turns: [], tools: [lookup], maxSteps: 6 });
  return {
    ...base,
    provider: routedModelProvider({
      gateway,
      policy: {
        primary: { provider: "anthropic", model: MODEL },
        fallbacks: [],
        rules: [],
        promptCaching: true,
      },
      agent: base.name,
    }),
    params: { maxOutputTokens: 200 },
    ...(options.budgets
      ? { budgets: { ledger: createSqlBudgetLedger(store.sql), limits: options.budgets } }
      : {}),
  };
}

async function runToEnd(
  agent: AgentDefinition,
  governor?: Governor,
  onDelta?: (delta: TextDelta) => void,
): Promise<JournalEvent[]> {
  const live = onDelta ? createLiveText() : undefined;
  let unsubscribe: (() => void) | undefined;
  const { events } = await driveRun({
    store,
    agent,
    input: "look up a1",
    principal,
    // Tool calls are denied without a governor (invariant 2), so the default lets this agent use its tools.
    ...(governor ? { governor } : {}),
    ...(live ? { live } : {}),
    onStart: (runId) => {
      if (live && onDelta) unsubscribe = live.subscribe(runId, onDelta, { replay: false });
    },
  });
  unsubscribe?.();
  return events;
}

function ofType<T extends JournalEvent["type"]>(events: readonly JournalEvent[], type: T) {
  return events.filter((event): event is Extract<JournalEvent, { type: T }> => event.type === type);
}

describe("the model node on the gateway", () => {
  test("journals each call's phase, routing reason, normalised usage, cost and price table version", async () => {
    server.push(
      {
        reply: {
          toolCalls: [{ id: "t1", name: "lookup", arguments: { id: "broken" } }],
          usage: { input: 1_000, output: 50, cacheWrite: 800 },
        },
      },
      {
        reply: {
          toolCalls: [{ id: "t2", name: "lookup", arguments: { id: "a1" } }],
          usage: { input: 1_200, output: 50, cacheRead: 800 },
        },
      },
      { reply: { text: "Found a1.", usage: { input: 1_400, output: 20, cacheRead: 1_000 } } },
    );
    const events = await runToEnd(agentOnGateway());
    const starts = ofType(events, "model-call-start");
    assert.deepEqual(
      starts.map((event) => event.payload.phase),
      ["planning", "error_recovery", "execution"],
    );
    assert.equal(starts[0]?.payload.routing?.reason, "default model");
    const ends = ofType(events, "model-call-end");
    assert.deepEqual(ends[1]?.payload.usage, { inputTokens: 1_200, outputTokens: 50, cacheReadTokens: 800 });
    const expected = (400 * 3 + 800 * 0.3 + 50 * 15) / 1e6;
    assert.ok(Math.abs((ends[1]?.payload.cost?.usd ?? 0) - expected) < 1e-12);
    assert.equal(ends[1]?.payload.cost?.priceTableVersion, "2026-11");
    assert.equal(ofType(events, "run-end")[0]?.payload.status, "completed");
  });

  test("reserves before each call and settles after, then ends the run as budget_exceeded at the cap", async () => {
    server.setDefault({
      reply: {
        toolCalls: [{ id: "t", name: "lookup", arguments: { id: "a1" } }],
        usage: { input: 1_000, output: 100 },
      },
    });
    // Each call's ceiling is ~$0.007 (about 700 input tokens at $3.75/M + 200 output at $15/M); the cap allows two.
    const events = await runToEnd(agentOnGateway({ budgets: { perRun: { usd: 0.015 } } }));
    const end = ofType(events, "run-end")[0]!;
    assert.equal(end.payload.status, "budget_exceeded");
    assert.equal(end.payload.error?.code, "budget_exceeded");
    assert.match(end.payload.error?.message ?? "", /budget for run:run_\w+ is exhausted/);
    assert.equal(ofType(events, "budget-exceeded").length, 1);
    const reserves = ofType(events, "budget-reserve");
    const settles = ofType(events, "budget-settle");
    assert.equal(reserves.length, settles.length);
    assert.ok(reserves.length >= 1);
    const spent = settles.reduce((sum, event) => sum + event.payload.usd, 0);
    assert.ok(spent <= 0.015, `spent ${spent}`);
    assert.equal(server.requests.length, reserves.length, "no model call without a reservation");
  });

  test("journals budget alerts as the run's spend crosses them", async () => {
    server.push(
      {
        reply: {
          toolCalls: [{ id: "t1", name: "lookup", arguments: { id: "a1" } }],
          usage: { input: 1_000, output: 100 },
        },
      },
      { reply: { text: "ok", usage: { input: 1_000, output: 100 } } },
    );
    const events = await runToEnd(
      agentOnGateway({ budgets: { perRun: { usd: 0.02, alertAt: [0.2, 0.9] } } }),
    );
    assert.deepEqual(
      ofType(events, "budget-alert").map((event) => event.payload.threshold),
      [0.2],
    );
  });

  test("ends the run in a clear, journaled state when every target is down", async () => {
    server.setDefault({ status: 503, error: "overloaded" });
    const started = performance.now();
    const events = await runToEnd(agentOnGateway());
    assert.ok(performance.now() - started < 5_000);
    const end = ofType(events, "run-end")[0]!;
    assert.equal(end.payload.status, "failed");
    assert.equal(end.payload.error?.code, "model_unavailable");
    assert.match(end.payload.error?.message ?? "", /every model target failed/);
    const modelEnd = ofType(events, "model-call-end")[0]!;
    assert.equal(modelEnd.payload.attempts?.length, 2);
  });

  test("asks the governor before the model call and ends the run when it denies", async () => {
    // Only `decide` matters to the model node; the rest of the port is the governor's own business.
    const denying = {
      async decide() {
        return {
          decision: "deny",
          code: "forbidden",
          reasons: ["model calls are paused for this tenant"],
          policies: [],
        };
      },
    } as unknown as Governor;
    const events = await runToEnd(agentOnGateway(), denying);
    assert.equal(server.requests.length, 0);
    const decision = ofType(events, "policy-decision")[0]!;
    assert.equal(decision.payload.decision, "deny");
    assert.equal(decision.payload.action, `model-call:anthropic/${MODEL}`);
    const end = ofType(events, "run-end")[0]!;
    assert.equal(end.payload.error?.code, "forbidden");
    assert.match(end.payload.error?.message ?? "", /paused for this tenant/);
  });
});

describe("the model node streaming through the gateway", () => {
  test("hands each text delta to live listeners and journals only the whole turn", async () => {
    const text = "The order a1 shipped yesterday and arrives on Thursday.";
    server.push({ reply: { text, usage: { input: 1_000, output: 14 } }, chunkDelayMs: 2 });
    const deltas: TextDelta[] = [];
    const events = await runToEnd(agentOnGateway(), undefined, (delta) => deltas.push(delta));
    assert.ok(deltas.length > 1);
    assert.equal(deltas.map((delta) => delta.delta).join(""), text);
    assert.deepEqual(
      deltas.map((delta) => delta.index),
      deltas.map((_, index) => index),
    );
    const end = ofType(events, "model-call-end")[0];
    assert.deepEqual(end?.payload.decision, { kind: "answer", text });
    assert.deepEqual(end?.payload.usage, { inputTokens: 1_000, outputTokens: 14 });
    assert.equal(server.requests[0]?.body.stream, true, "the provider was asked to stream");
  });

  test("a stream cut after its first token fails the run and records the estimated usage and cost of what was sent", async () => {
    server.push({ cut: { text: "This reply is cut off half way through, mid-sentence." }, afterFrames: 5 });
    const deltas: TextDelta[] = [];
    const events = await runToEnd(agentOnGateway({ budgets: { perRun: { usd: 5 } } }), undefined, (delta) =>
      deltas.push(delta),
    );
    const end = ofType(events, "model-call-end")[0];
    assert.equal(end?.payload.outcome, "error");
    assert.equal(end?.payload.usageEstimated, true);
    const streamed = deltas.map((delta) => delta.delta).join("");
    assert.ok(streamed.length > 0);
    assert.equal(end?.payload.streamedText, streamed, "the text live listeners saw is journaled");
    assert.ok((end?.payload.usage?.inputTokens ?? 0) > 0);
    assert.equal(end?.payload.usage?.outputTokens, Math.ceil(streamed.length / 3));
    assert.ok((end?.payload.cost?.usd ?? 0) > 0, "the cut call is priced");
    const settle = ofType(events, "budget-settle")[0];
    assert.equal(settle?.payload.usd, end?.payload.cost?.usd, "its hold is settled at that cost, not freed");
    assert.equal(ofType(events, "run-end")[0]?.payload.status, "failed");
    assert.equal(server.requests.length, 1, "not retried after the first token");
  });
});
