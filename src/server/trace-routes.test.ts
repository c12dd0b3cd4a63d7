import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Registry } from "prom-client";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import { appendSyntheticRun, appendSyntheticTree } from "../../test/support/synthetic-journal.ts";
import { createAgentCatalog } from "../runtime/agent-catalog.ts";
import type { KeelStore } from "../store/keel-store.ts";
import { openStore } from "../store/open-store.ts";
import { DRIFT_MONITOR_AGENT } from "../telemetry/drift-alarm.ts";
import { createApp } from "./create-app.ts";
import { startTracePipeline, type TracePipeline } from "./trace-pipeline.ts";

let store: KeelStore;
let pipeline: TracePipeline;
let app: ReturnType<typeof createApp>;
const ids: Record<string, string> = {};

before(async () => {
  store = await openStore({});
  pipeline = startTracePipeline({ store, env: {}, registry: new Registry(), pollIntervalMs: 60_000 });
  const agent = scriptedAgent({ turns: [], name: "support-triage" });
  app = createApp({ store, agents: createAgentCatalog([agent]), telemetry: pipeline, log: () => {} });
  // Denied, then failed, then retried and fine; a clean run; an expensive one; a failed run of another agent.
  ids.retried = await appendSyntheticRun(store, {
    agent: "support-triage",
    turns: [
      [{ tool: "issue_refund", outcome: "denied" }],
      [{ tool: "issue_refund", outcome: "failed" }],
      [{ tool: "issue_refund", outcome: "ok" }],
    ],
  });
  ids.clean = await appendSyntheticRun(store, {
    agent: "support-triage",
    turns: [[{ tool: "lookup", outcome: "ok" }]],
  });
  ids.expensive = await appendSyntheticRun(store, {
    agent: "support-triage",
    version: "2.0.0",
    costPerCall: 0.5,
    turns: [[{ tool: "lookup", outcome: "ok" }], [{ tool: "issue_refund", outcome: "review" }]],
  });
  ids.failed = await appendSyntheticRun(store, {
    agent: "billing",
    status: "failed",
    turns: [[{ tool: "charge", outcome: "failed" }]],
  });
  await pipeline.projector.catchUp();
});
after(async () => {
  await pipeline.close();
  await store.close();
});

async function get<T>(path: string, expectStatus = 200): Promise<T> {
  const response = await app.request(path);
  assert.equal(response.status, expectStatus, `${path}: ${await response.clone().text()}`);
  return (await response.json()) as T;
}

/** A drift alarm as the drift check journals it: a monitor run, ended with the alarm as its answer. */
async function journalDriftAlarm(): Promise<void> {
  const now = new Date();
  const runId = "run_drift_test";
  await store.createRun({
    runId,
    start: {
      agent: DRIFT_MONITOR_AGENT,
      agentVersion: "1",
      specHash: "builtin",
      input: "drift check of support-triage",
      principal: { subject: DRIFT_MONITOR_AGENT, tenant: "default", roles: [] },
      startedAt: now.toISOString(),
      deadlineAt: new Date(now.getTime() + 60_000).toISOString(),
      maxSteps: 1,
    },
  });
  const lease = await store.acquireLease({ runId, owner: "test", ttlMs: 60_000 });
  assert.ok(lease);
  const alarm = {
    kind: "drift-alarm",
    agent: "support-triage",
    dimensions: [{ dimension: "outcome", psi: 0.4 }],
  };
  await store.append({
    lease,
    events: [{ type: "run-end", payload: { status: "completed", answer: JSON.stringify(alarm), steps: 0 } }],
  });
  await store.releaseLease(lease);
  await pipeline.projector.catchUp();
}

type Runs = { runs: { runId: string; path: string[]; costUsd: number; status: string }[] };

describe("trace and cost routes", () => {
  test("a run's trace is its span tree, and a trace id finds the run", async () => {
    const trace = await get<{ traceId: string; spans: { name: string; parentSpanId: string | null }[] }>(
      `/v1/runs/${ids.retried}/trace`,
    );
    assert.equal(trace.spans[0]?.name, "invoke_agent support-triage");
    assert.equal(trace.spans.filter((span) => span.name === "execute_tool issue_refund").length, 3);
    const byId = await get<{ runs: { runId: string }[] }>(`/v1/traces/${trace.traceId}`);
    assert.deepEqual(
      byId.runs.map((run) => run.runId),
      [ids.retried],
    );
    await get(`/v1/traces/${"0".repeat(31)}1`, 404);
    await get("/v1/traces/not-hex", 400);
  });

  test("decision-path search finds runs where a tool was denied, then failed, then retried", async () => {
    const found = await get<Runs>(
      "/v1/traces?agent=support-triage&since=24h&path=issue_refund:denied>issue_refund:failed>issue_refund:retried",
    );
    assert.deepEqual(
      found.runs.map((run) => run.runId),
      [ids.retried],
    );
    assert.deepEqual(found.runs[0]?.path, [
      "issue_refund:denied",
      "issue_refund:retried",
      "issue_refund:allowed",
      "issue_refund:failed",
      "issue_refund:retried",
      "issue_refund:allowed",
      "issue_refund:ok",
    ]);
    // The order matters: failed before denied matches nothing.
    const reversed = await get<Runs>("/v1/traces?path=issue_refund:failed>issue_refund:denied");
    assert.equal(reversed.runs.length, 0);
    const reviewed = await get<Runs>("/v1/traces?policy=review");
    assert.deepEqual(
      reviewed.runs.map((run) => run.runId),
      [ids.expensive],
    );
    const errors = await get<Runs>("/v1/traces?errors=true&status=failed");
    assert.deepEqual(
      errors.runs.map((run) => run.runId),
      [ids.failed],
    );
    const costly = await get<Runs>("/v1/traces?minCost=0.5&version=2.0.0&escalated=true");
    assert.deepEqual(
      costly.runs.map((run) => run.runId),
      [ids.expensive],
    );
    assert.equal((await get<Runs>("/v1/traces?minRetries=2")).runs[0]?.runId, ids.retried);
    await get("/v1/traces?path=issue_refund:exploded", 400);
    await get("/v1/traces?since=yesterday", 400);
  });

  test("top-N, percentiles, costs by agent, model, phase and day, and rates", async () => {
    const top = await get<Runs>("/v1/telemetry/top?by=cost&limit=1");
    assert.equal(top.runs[0]?.runId, ids.expensive);
    assert.ok(Math.abs((top.runs[0]?.costUsd ?? 0) - 1.5) < 1e-9);
    const percentiles = await get<{
      agents: { agent: string; version: string; runs: number; latencyMs: { p95: number } }[];
    }>("/v1/telemetry/percentiles?agent=support-triage");
    assert.deepEqual(
      percentiles.agents.map((row) => [row.agent, row.version, row.runs]),
      [
        ["support-triage", "1.0.0", 2],
        ["support-triage", "2.0.0", 1],
      ],
    );
    const costs = await get<{
      costs: { agent: string; phase: string; day: string; costUsd: number; calls: number }[];
    }>("/v1/costs?by=agent,phase,day");
    const planning = costs.costs.find((row) => row.agent === "support-triage" && row.phase === "planning");
    assert.equal(planning?.calls, 3);
    assert.equal(planning?.day, new Date().toISOString().slice(0, 10));
    const byModel = await get<{ costs: { model: string; costUsd: number }[] }>("/v1/costs?by=model");
    const total = 0.0125 * 4 + 0.5 * 3 + 0.0125 * 2 + 0.0125;
    assert.ok(Math.abs((byModel.costs[0]?.costUsd ?? 0) - total) < 1e-9, JSON.stringify(byModel));
    const rates = await get<{
      agents: {
        agent: string;
        costPerResolvedUsd: number;
        escalationRate: number;
        toolFailureRate: number;
        errorRate: number;
      }[];
    }>("/v1/telemetry/rates");
    const support = rates.agents.find((row) => row.agent === "support-triage");
    assert.ok(support);
    assert.ok(Math.abs(support.costPerResolvedUsd - (0.0125 * 4 + 1.5 + 0.025) / 3) < 1e-9);
    assert.ok(Math.abs(support.escalationRate - 1 / 3) < 1e-9);
    assert.equal(rates.agents.find((row) => row.agent === "billing")?.errorRate, 1);
    await get("/v1/costs?by=planet", 400);
  });

  test("activity: runs per bucket of a window with totals and drift alarms, for one agent or all", async () => {
    await journalDriftAlarm();
    type Activity = {
      bucket: string;
      series: { at: string; started: number; completed: number; failed: number }[];
      totals: {
        started: number;
        completed: number;
        failed: number;
        successRate: number;
        p95LatencyMs: number;
      };
      driftAlarms: { agent: string; dimensions: string[] }[];
    };
    const all = await get<Activity>("/v1/telemetry/activity");
    assert.equal(all.bucket, "minute");
    assert.ok(all.series.length >= 60 && all.series.length <= 61, `${all.series.length} buckets`);
    // The four runs above; the drift monitor's run is an alarm, not work.
    assert.deepEqual([all.totals.started, all.totals.completed, all.totals.failed], [4, 3, 1]);
    assert.equal(all.totals.successRate, 3 / 4);
    assert.equal(
      all.series.reduce((sum, point) => sum + point.started, 0),
      4,
    );
    assert.ok(all.totals.p95LatencyMs >= 0);
    assert.deepEqual(
      all.driftAlarms.map((alarm) => [alarm.agent, alarm.dimensions]),
      [["support-triage", ["outcome"]]],
    );

    const billing = await get<Activity>("/v1/telemetry/activity?agent=billing&since=24h");
    assert.equal(billing.bucket, "hour");
    assert.deepEqual([billing.totals.started, billing.totals.failed, billing.totals.successRate], [1, 1, 0]);
    assert.deepEqual(billing.driftAlarms, []);
    assert.equal((await get<Activity>("/v1/telemetry/activity?since=7d")).series.length >= 168, true);
    await get("/v1/telemetry/activity?since=30d&bucket=minute", 400);
    await get("/v1/telemetry/activity?since=1h&until=2h", 400);
  });

  test("GET /metrics serves the Prometheus text format with the journal's counts", async () => {
    const response = await app.request("/metrics");
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /text\/plain/);
    const text = await response.text();
    assert.match(text, /keel_runs_total\{agent="billing",version="1.0.0",status="failed"\} 1/);
    assert.match(
      text,
      /keel_tool_calls_total\{agent="support-triage",tool="issue_refund",outcome="denied"\} 1/,
    );
    assert.match(
      text,
      /keel_policy_decisions_total\{agent="support-triage",action="tool-call",decision="review"\} 1/,
    );
    assert.match(text, /keel_escalations_total\{agent="support-triage",kind="human_review"\} 1/);
    assert.match(
      text,
      /gen_ai_client_token_usage_sum\{gen_ai_operation_name="chat",gen_ai_provider_name="anthropic",gen_ai_request_model="claude-sonnet-4-5-20250929",agent="support-triage",phase="planning",gen_ai_token_type="cache_read"\} 1800\n/,
    );
    assert.match(
      text,
      /keel_run_duration_seconds_bucket\{le="\+Inf",agent="support-triage",version="1.0.0"\} 2/,
    );
    assert.match(text, /keel_approval_decision_seconds_count\{agent="support-triage"\} 1/);
    assert.match(
      text,
      /gen_ai_client_operation_duration_seconds_count\{gen_ai_operation_name="chat",gen_ai_provider_name="anthropic",gen_ai_request_model="claude-sonnet-4-5-20250929",agent="support-triage",phase="execution"\} \d+\n/,
    );
    assert.match(text, /# TYPE keel_runs_active gauge/);
  });

  test("POST /v1/telemetry/drift compares an agent's windows and answers with each dimension's PSI", async () => {
    const response = await app.request(
      "/v1/telemetry/drift?agent=support-triage&baseline=8d..1d&current=1d",
      { method: "POST" },
    );
    assert.equal(response.status, 200);
    const check = (await response.json()) as {
      readings: { dimension: string; psi: number | null }[];
      alarmRunId: null;
    };
    assert.deepEqual(
      check.readings.map((reading) => reading.dimension),
      ["outcome", "tool_mix", "cost", "score"],
    );
    // Nothing ran in the baseline window, so there is nothing to compare and no alarm.
    assert.equal(check.alarmRunId, null);
    assert.equal(
      (await app.request("/v1/telemetry/drift?agent=x&baseline=soon", { method: "POST" })).status,
      400,
    );
  });

  test("a run requested with a traceparent journals it, and one without gets a trace of its own", async () => {
    const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const response = await app.request("/v1/agents/support-triage/runs", {
      method: "POST",
      headers: { "content-type": "application/json", traceparent },
      body: JSON.stringify({ input: "hello" }),
    });
    assert.equal(response.status, 202);
    const { id } = (await response.json()) as { id: string };
    const [start] = await store.readEvents({ runId: id, limit: 1 });
    assert.equal(start?.type === "run-start" ? start.payload.traceparent : null, traceparent);
    const trace = await get<{ traceId: string; spans: { parentSpanId: string }[] }>(`/v1/runs/${id}/trace`);
    assert.equal(trace.traceId, "0af7651916cd43dd8448eb211c80319c");
    assert.equal(trace.spans[0]?.parentSpanId, "b7ad6b7169203331");
    const bad = await app.request("/v1/agents/support-triage/runs", {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: "garbage" },
      body: JSON.stringify({ input: "hello" }),
    });
    const other = (await bad.json()) as { id: string };
    const [otherStart] = await store.readEvents({ runId: other.id, limit: 1 });
    assert.equal(otherStart?.type === "run-start" ? otherStart.payload.traceparent : "x", undefined);
  });
});

describe("a run tree's traces and costs", () => {
  let treeStore: KeelStore;
  let treePipeline: TracePipeline;
  let treeApp: ReturnType<typeof createApp>;
  const treeIds: Record<string, string> = {};
  before(async () => {
    treeStore = await openStore({});
    treePipeline = startTracePipeline({
      store: treeStore,
      env: {},
      registry: new Registry(),
      pollIntervalMs: 60_000,
    });
    treeApp = createApp({
      store: treeStore,
      agents: createAgentCatalog([scriptedAgent({ turns: [], name: "vendor-diligence" })]),
      telemetry: treePipeline,
      log: () => {},
    });
    // A workflow run and the two child runs its nodes started, one of which started one of its own.
    const tree = await appendSyntheticTree(
      treeStore,
      { agent: "vendor-diligence", costPerCall: 0.01, turns: [[{ tool: "write_report", outcome: "ok" }]] },
      [
        {
          node: "checks",
          agent: "sanctions-check",
          costPerCall: 0.02,
          turns: [[{ tool: "screen", outcome: "denied" }]],
        },
        {
          node: "checks",
          agent: "news-check",
          costPerCall: 0.04,
          turns: [[{ tool: "search_news", outcome: "ok" }]],
        },
      ],
    );
    const grandchild = await appendSyntheticTree(
      treeStore,
      { agent: "news-check", costPerCall: 0.08, turns: [[{ tool: "search_news", outcome: "ok" }]] },
      [],
    );
    treeIds.treeRoot = tree.parent;
    treeIds.sanctions = tree.children[0]!;
    treeIds.news = tree.children[1]!;
    treeIds.outside = grandchild.parent;
    await treePipeline.projector.catchUp();
  });
  after(async () => {
    await treePipeline.close();
    await treeStore.close();
  });
  async function treeGet<T>(path: string): Promise<T> {
    const response = await treeApp.request(path);
    assert.equal(response.status, 200, `${path}: ${await response.clone().text()}`);
    return (await response.json()) as T;
  }

  test("decision-path search and costs keep to one run tree with tree=<run>", async () => {
    const inTree = await treeGet<Runs>(`/v1/traces?tree=${treeIds.treeRoot}`);
    assert.deepEqual(
      new Set(inTree.runs.map((run) => run.runId)),
      new Set([treeIds.treeRoot, treeIds.sanctions, treeIds.news]),
    );
    // A path query across the tree finds the child where the screening was denied, and only there.
    const denied = await treeGet<Runs>(`/v1/traces?tree=${treeIds.treeRoot}&path=screen:denied`);
    assert.deepEqual(
      denied.runs.map((run) => run.runId),
      [treeIds.sanctions],
    );
    // A child's own tree is itself; a run outside the tree is never counted in it.
    assert.deepEqual(
      (await treeGet<Runs>(`/v1/traces?tree=${treeIds.news}`)).runs.map((run) => run.runId),
      [treeIds.news],
    );
    type Costs = { costs: { agent: string; costUsd: number; calls: number }[] };
    const costs = await treeGet<Costs>(`/v1/costs?tree=${treeIds.treeRoot}&by=agent`);
    const byAgent = Object.fromEntries(costs.costs.map((row) => [row.agent, row.costUsd]));
    // Each synthetic run makes two priced calls (its tool turn and its answer).
    assert.ok(Math.abs(byAgent["vendor-diligence"]! - 0.02) < 1e-9, JSON.stringify(costs));
    assert.ok(Math.abs(byAgent["sanctions-check"]! - 0.04) < 1e-9);
    assert.ok(
      Math.abs(byAgent["news-check"]! - 0.08) < 1e-9,
      "the news-check run outside the tree is not counted",
    );
    const unknown = await treeGet<Costs>("/v1/costs?tree=run_nobody&by=agent");
    assert.deepEqual(unknown.costs, []);
  });
});
