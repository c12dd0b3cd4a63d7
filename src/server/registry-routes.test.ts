import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type ServerType, serve } from "@hono/node-server";
import { Registry as MetricsRegistry } from "prom-client";
import { supportTriage } from "../../examples/support-triage/index.ts";
import { captureIo } from "../../test/support/capture-io.ts";
import { main } from "../cli/main.ts";
import { decideGate } from "../evals/decide-gate.ts";
import type { EvalRunResult } from "../evals/eval-result.ts";
import { sqlEvalResultStore } from "../evals/eval-result-store.ts";
import { createSqlRegistry } from "../registry/sql-registry.ts";
import type { KeelStore } from "../store/keel-store.ts";
import { openStore } from "../store/open-store.ts";
import { createApp } from "./create-app.ts";
import { loadAgentPackages } from "./create-keel.ts";
import { registerServedAgents } from "./register-agents.ts";
import { startTracePipeline, type TracePipeline } from "./trace-pipeline.ts";

describe("the registry over HTTP and keel agents, with active agents required", () => {
  let store: KeelStore;
  let server: ServerType;
  let telemetry: TracePipeline;
  let url: string;
  const keel = async (
    args: string[],
    env: Record<string, string> = { KEEL_SUBJECT: "dana.whitfield@example.com" },
  ) => {
    const io = captureIo(env);
    const code = await main([...args, "--url", url], io);
    return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
  };
  const startRun = async () =>
    await fetch(`${url}/v1/agents/support-triage/runs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ input: "Where is my order 1042?" }),
    });

  before(async () => {
    store = await openStore({});
    // The current version only: these tests follow one version through its lifecycle.
    const current = { ...supportTriage, versions: [] };
    const { agents, governed } = await loadAgentPackages({ store, packages: [current], env: {} });
    const registry = createSqlRegistry(store.sql);
    await registerServedAgents(registry, agents, governed);
    telemetry = startTracePipeline({
      store,
      env: {},
      registry: new MetricsRegistry(),
      agentRegistry: registry,
      pollIntervalMs: 60_000,
    });
    const app = createApp({
      store,
      agents,
      registry,
      telemetry,
      requireActiveAgents: true,
      log: () => undefined,
    });
    server = await new Promise<ServerType>((resolve) => {
      const created = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(created));
    });
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await telemetry.close();
    await store.close();
  });

  test("a served agent starts as a draft and may not serve runs until it is active", async () => {
    const listed = await keel(["agents", "list"]);
    assert.equal(listed.code, 0);
    assert.match(
      listed.out,
      /support-triage@1\.0\.0 {2}rules\/rules:support-triage {2}\(offline stand-in\) {2}draft, tier 2/,
    );
    const refused = await startRun();
    assert.equal(refused.status, 409);
    assert.match(
      ((await refused.json()) as { error: { message: string } }).error.message,
      /support-triage@1\.0\.0 is draft, not active/,
    );
  });

  test("activation is refused until every gate is attested, then the agent serves runs", async () => {
    assert.equal((await keel(["agents", "status", "support-triage", "1.0.0", "in_review"])).code, 0);
    const early = await keel(["agents", "status", "support-triage", "1.0.0", "active"]);
    assert.equal(early.code, 1);
    assert.match(
      early.err,
      /cannot become active: gate privacy_assessment is not attested; gate security_review/,
    );
    const low = await keel([
      "agents",
      "attest",
      "support-triage",
      "1.0.0",
      "eval_results",
      "--evidence",
      "https://ci/1",
      "--score",
      "0.7",
      "--threshold",
      "0.9",
    ]);
    assert.equal(low.code, 2);
    assert.match(low.err, /below the threshold/);
    for (const args of [
      ["privacy_assessment", "--evidence", "https://wiki/privacy"],
      ["security_review", "--evidence", "https://wiki/security"],
      ["eval_results", "--evidence", "https://ci/2", "--score", "0.95", "--threshold", "0.9"],
      ["cost_projection", "--evidence", "https://finance/7", "--monthly-usd", "300", "--approved"],
    ]) {
      const attested = await keel(["agents", "attest", "support-triage", "1.0.0", ...args]);
      assert.equal(attested.code, 0, attested.err);
    }
    const anonymous = await keel(["agents", "status", "support-triage", "1.0.0", "active"], {});
    assert.equal(anonymous.code, 2);
    assert.equal((await keel(["agents", "status", "support-triage", "1.0.0", "active"])).code, 0);
    assert.equal((await startRun()).status, 202);

    const card = await keel(["agents", "card", "support-triage"]);
    assert.equal(card.code, 0);
    assert.match(card.out, /REGISTRY CARD — support-triage 1\.0\.0\s+status: ACTIVE/);
    assert.match(card.out, /Owner\s+support-ops — dana\.whitfield@example\.com/);
    assert.match(
      card.out,
      /✔ cost_projection\s+dana\.whitfield@example\.com, \d{4}-\d\d-\d\d \(300 USD\/month\) — https:\/\/finance\/7/,
    );
    assert.match(
      card.out,
      /held actions go to support-leads, SLA 240 min, then escalated to support-managers/,
    );
    const shown = await keel(["agents", "show", "support-triage"]);
    assert.match(shown.out, /issue_refund \(financial\)/);
  });

  test("an agent whose owner is removed is paused, flagged as an orphan and refused runs", async () => {
    const response = await fetch(`${url}/v1/registry/support-triage/versions/1.0.0/owner`, {
      method: "PUT",
      headers: { "content-type": "application/json", "x-keel-subject": "hr-sync" },
      body: JSON.stringify({ team: "support-ops", person: null }),
    });
    const entry = (await response.json()) as { status: string; flags: string[] };
    assert.deepEqual([entry.status, entry.flags], ["paused", ["orphan"]]);
    assert.equal((await startRun()).status, 409);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /keel_agent_orphaned\{agent="support-triage",version="1\.0\.0",tier="2"\} 1/);
    const listed = await keel(["agents", "list"]);
    assert.match(listed.out, /paused, tier 2 \[orphan\]/);
  });

  test("an eval gate attested without a score takes it from the store's gated eval runs, and a failed run refuses it", async () => {
    const attest = () =>
      keel(["agents", "attest", "support-triage", "1.0.0", "eval_results", "--evidence", "https://ci/9"]);
    const none = await attest();
    assert.equal(none.code, 1);
    assert.match(none.err, /no gated eval run of support-triage@1\.0\.0 is stored/);

    const results = sqlEvalResultStore(store.sql);
    const gate = { minScore: 0.9, maxRegression: 0.02 };
    const golden = gatedRun("eval_golden", "golden", 0.96, "2026-11-01T00:00:00.000Z");
    const adversarial = gatedRun("eval_adv", "adversarial", 0.93, "2026-11-01T00:00:01.000Z");
    await results.save({ result: golden, gate: decideGate(golden, null, gate) });
    await results.save({ result: adversarial, gate: decideGate(adversarial, null, gate) });
    const derived = await attest();
    assert.equal(derived.code, 0, derived.err);
    const card = await keel(["agents", "card", "support-triage"]);
    assert.match(
      card.out,
      /✔ eval_results\s+dana\.whitfield@example\.com, .*\(score 0\.93 ≥ 0\.9\) — https:\/\/ci\/9/,
    );

    const worse = gatedRun("eval_golden_2", "golden", 0.5, "2026-11-02T00:00:00.000Z");
    await results.save({ result: worse, gate: decideGate(worse, null, gate) });
    const failed = await attest();
    assert.equal(failed.code, 1);
    assert.match(
      failed.err,
      /the latest gated eval of support-triage@1\.0\.0 failed: golden: pass rate 50\.0%/,
    );
  });
});

/** A stored eval run of the support agent with the given pass rate over a hundred cases. */
function gatedRun(id: string, dataset: string, passRate: number, finishedAt: string): EvalRunResult {
  const total = 100;
  const passed = Math.round(passRate * total);
  const summary = { total, passed, failed: total - passed, errored: 0, passRate, meanScore: passRate };
  return {
    id,
    agent: "support-triage",
    version: "1.0.0",
    model: "rules",
    deterministic: true,
    dataset: { name: dataset, kind: "regression", version: "sha256:x", file: `/${dataset}.yaml` },
    startedAt: finishedAt,
    finishedAt,
    durationMs: 1,
    concurrency: 1,
    summary,
    byCategory: { general: summary },
    cases: [],
    advisoryJudges: [],
  };
}
