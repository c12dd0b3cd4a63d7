import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { Registry } from "prom-client";
import { z } from "zod";
import { type OtlpReceiver, startOtlpReceiver } from "../../test/support/otlp-receiver.ts";
import {
  gatewayAgent,
  refundForbiddingGovernor,
  runScenario,
  TELEMETRY_MODEL,
} from "../../test/support/telemetry-scenario.ts";
import type { JournalEvent } from "../journal/events.ts";
import { type LoopbackProvider, startLoopbackProvider } from "../models/loopback/loopback-provider-server.ts";
import { openStore } from "../store/open-store.ts";
import type { Store } from "../store/store.ts";
import { defineTool } from "../tools/tool.ts";
import { createJournalProjector } from "./journal-projector.ts";
import { createOtlpTraceExporter } from "./otlp-trace-exporter.ts";
import { createTelemetryMetrics } from "./telemetry-metrics.ts";

let store: Store;
let provider: LoopbackProvider;
let receiver: OtlpReceiver;

before(async () => {
  store = await openStore({});
  provider = await startLoopbackProvider({ wire: "anthropic" });
  receiver = await startOtlpReceiver();
});
after(async () => {
  await receiver.close();
  await provider.close();
  await store.close();
});

/** A lookup that fails, a retry that works beside a refund the governor forbids, then an answer. */
function scriptTurns(): void {
  provider.push(
    {
      reply: {
        toolCalls: [{ id: "t1", name: "lookup", arguments: { id: "broken" } }],
        usage: { input: 1_000, output: 50, cacheWrite: 800 },
      },
    },
    {
      reply: {
        toolCalls: [
          { id: "t2", name: "lookup", arguments: { id: "a1" } },
          { id: "t3", name: "issue_refund", arguments: { id: "a1", amount: 30 } },
        ],
        usage: { input: 1_200, output: 60, cacheRead: 800 },
      },
    },
    {
      reply: {
        text: "Order a1 found; the refund needs a person.",
        usage: { input: 1_400, output: 20, cacheRead: 1_000 },
      },
    },
  );
}

function ofType<T extends JournalEvent["type"]>(events: readonly JournalEvent[], type: T) {
  return events.filter((event): event is Extract<JournalEvent, { type: T }> => event.type === type);
}

describe("traces exported over OTLP/HTTP", () => {
  test("decode as a GenAI span tree with Keel's attributes, parent links and token counts", async () => {
    const agent = gatewayAgent({ server: provider, name: "support-triage", version: "3.1.0" });
    scriptTurns();
    const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
    const callerSpan = "00f067aa0ba902b7";
    const events = await runScenario({
      store,
      agent,
      input: "refund order a1",
      governor: await refundForbiddingGovernor([agent]),
      traceparent: `00-${callerTrace}-${callerSpan}-01`,
    });
    assert.equal(events.at(-1)?.type, "run-end");

    const metrics = createTelemetryMetrics({
      registry: new Registry(),
      sql: store.sql,
      processMetrics: false,
    });
    const exporter = createOtlpTraceExporter({ url: receiver.url, metrics, scheduledDelayMs: 10 });
    const projector = createJournalProjector({ store, metrics, exporter });
    const progress = await projector.catchUp();
    await exporter.flush();
    assert.equal(progress.runs, 1);
    assert.equal(receiver.requests[0]?.contentType, "application/x-protobuf");

    const spans = receiver.spans.filter((span) => span.attributes["keel.run.id"] === events[0]?.runId);
    assert.equal(spans.length, progress.spans);
    const byName = (name: string) => spans.filter((span) => span.name === name);
    const [root] = byName("invoke_agent support-triage");
    assert.ok(root, `no root span among ${spans.map((span) => span.name).join(", ")}`);
    // The run continues the caller's trace under the caller's span.
    assert.equal(root.traceId, callerTrace);
    assert.equal(root.parentSpanId, callerSpan);
    assert.ok(spans.every((span) => span.traceId === callerTrace));
    assert.equal(root.attributes["gen_ai.operation.name"], "invoke_agent");
    assert.equal(root.attributes["gen_ai.agent.name"], "support-triage");
    assert.equal(root.attributes["gen_ai.agent.version"], "3.1.0");
    assert.equal(root.attributes["keel.run.status"], "completed");
    assert.equal(root.status.code, 1);
    assert.equal(root.resource["service.name"], "keel");

    const [plan] = byName("plan");
    assert.ok(plan);
    assert.equal(plan.parentSpanId, root.spanId);
    assert.equal(plan.attributes["keel.phase"], "planning");
    const chats = byName(`chat ${TELEMETRY_MODEL}`).sort((a, b) => Number(a.startNs - b.startNs));
    assert.equal(chats.length, 3);
    assert.equal(chats[0]?.parentSpanId, plan.spanId, "the planning call is inside the plan span");
    assert.equal(chats[1]?.parentSpanId, root.spanId);
    assert.deepEqual(
      chats.map((span) => span.attributes["keel.phase"]),
      ["planning", "error_recovery", "error_recovery"],
    );
    assert.ok(
      chats.every((span) => span.kind === 3 && span.attributes["gen_ai.provider.name"] === "anthropic"),
    );
    // Token usage as the conventions define it: input_tokens includes cache reads and writes.
    const journalUsage = ofType(events, "model-call-end").map((event) => event.payload.usage);
    assert.deepEqual(
      chats.map((span) => [
        span.attributes["gen_ai.usage.input_tokens"],
        span.attributes["gen_ai.usage.output_tokens"],
        span.attributes["gen_ai.usage.cache_read.input_tokens"],
        span.attributes["gen_ai.usage.cache_creation.input_tokens"],
      ]),
      [
        [1_000, 50, 0, 800],
        [1_200, 60, 800, 0],
        [1_400, 20, 1_000, 0],
      ],
    );
    assert.deepEqual(
      journalUsage.map((usage) => usage?.inputTokens),
      [1_000, 1_200, 1_400],
    );
    assert.equal(root.attributes["gen_ai.usage.input_tokens"], 3_600);

    const tools = spans.filter((span) => span.name.startsWith("execute_tool "));
    assert.deepEqual(tools.map((span) => span.name).sort(), [
      "execute_tool issue_refund",
      "execute_tool lookup",
      "execute_tool lookup",
    ]);
    assert.ok(tools.every((span) => span.parentSpanId === root.spanId));
    const failed = tools.find((span) => span.attributes["gen_ai.tool.call.id"] === "t1");
    assert.equal(failed?.status.code, 2);
    const refused = tools.find((span) => span.attributes["gen_ai.tool.call.id"] === "t3");
    assert.equal(refused?.attributes["error.type"], "denied");
    const decisions = spans.filter((span) => span.name.startsWith("policy_decision "));
    const refusal = decisions.find((span) => span.parentSpanId === refused?.spanId);
    assert.equal(refusal?.attributes["keel.policy.decision"], "deny");
    assert.equal(refusal?.attributes["keel.policy.code"], "forbidden");
    // Every span's parent is in the trace (or is the caller's), and children sit inside their parents.
    const ids = new Map(spans.map((span) => [span.spanId, span]));
    for (const span of spans) {
      if (span === root) continue;
      const parent = ids.get(span.parentSpanId);
      assert.ok(parent, `${span.name} has a parent in the trace`);
      assert.ok(
        span.startNs >= parent.startNs && span.endNs <= parent.endNs + 1_000_000n,
        `${span.name} inside ${parent.name}`,
      );
    }

    // The sum of costs in the trace's chat spans equals keel_model_cost_usd_total.
    const traceCost = chats.reduce((sum, span) => sum + Number(span.attributes["keel.cost.usd"]), 0);
    const journalCost = ofType(events, "model-call-end").reduce(
      (sum, event) => sum + (event.payload.cost?.usd ?? 0),
      0,
    );
    assert.ok(traceCost > 0);
    assert.ok(Math.abs(traceCost - journalCost) <= journalCost * 0.001);
    const text = await metrics.scrape();
    const metricCost = Number(
      /keel_model_cost_usd_total\{agent="support-triage",provider="anthropic",model="claude-sonnet-4-5-20250929"\} ([0-9.e-]+)/.exec(
        text,
      )?.[1],
    );
    assert.ok(
      Math.abs(metricCost - traceCost) <= traceCost * 0.001,
      `metric ${metricCost} vs trace ${traceCost}`,
    );
    assert.match(text, /keel_telemetry_spans_exported_total \d+/);
    await exporter.shutdown();
  });

  test("a tool's outbound HTTP request carries the traceparent of its execute_tool span", async () => {
    const received: (string | undefined)[] = [];
    const upstream = createServer((request, response) => {
      received.push(request.headers.traceparent as string | undefined);
      response.writeHead(200, { "content-type": "application/json" }).end('{"status":"shipped"}');
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    const statusTool = defineTool({
      name: "order_status",
      description: "Ask the shipping service.",
      input: z.object({ id: z.string() }),
      async execute({ id }, context) {
        const port = (upstream.address() as AddressInfo).port;
        const response = await fetch(`http://127.0.0.1:${port}/orders/${id}`, {
          headers: context.traceparent ? { traceparent: context.traceparent } : {},
        });
        return await response.json();
      },
    });
    const agent = gatewayAgent({ server: provider, name: "shipping", tools: [statusTool] });
    provider.push(
      {
        reply: {
          toolCalls: [{ id: "s1", name: "order_status", arguments: { id: "a1" } }],
          usage: { input: 100, output: 10 },
        },
      },
      { reply: { text: "Shipped.", usage: { input: 120, output: 5 } } },
    );
    const events = await runScenario({ store, agent, input: "where is a1" });
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
    const exporter = createOtlpTraceExporter({ url: receiver.url });
    await createJournalProjector({ store, exporter }).catchUp();
    await exporter.shutdown();
    const tool = receiver.spans.find(
      (span) =>
        span.attributes["keel.run.id"] === events[0]?.runId && span.name === "execute_tool order_status",
    );
    assert.ok(tool, "the tool span was exported");
    assert.deepEqual(received, [`00-${tool.traceId}-${tool.spanId}-01`]);
  });
});
