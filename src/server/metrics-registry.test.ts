import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { Registry } from "prom-client";
import { registerApprovalMetrics } from "../approvals/approval-metrics.ts";
import { registerRegistryMetrics } from "../registry/registry-metrics.ts";
import { createTelemetryMetrics } from "../telemetry/telemetry-metrics.ts";
import { everyMetricFamily, renderMetricTable } from "./render-metric-table.ts";
import { registerServerMetrics } from "./trace-pipeline.ts";

const promtool = spawnSync("promtool", ["--version"], { stdio: "ignore" }).status === 0;

/** A value that breaks hand-written exposition text three ways: a quote, a backslash and a newline. */
const HOSTILE = 'support "tier\\2"\nnight';

describe("the metrics registry", () => {
  test("names every family gen_ai_* (OpenTelemetry GenAI) or keel_*, and docs/observability.md lists each one", () => {
    const names = everyMetricFamily()
      .getMetricsAsArray()
      .map((metric) => metric.name);
    assert.ok(names.includes("gen_ai_client_token_usage"));
    assert.ok(names.includes("gen_ai_client_operation_duration_seconds"));
    assert.deepEqual(
      names.filter((name) => !/^(gen_ai_client_|keel_)/.test(name)),
      [],
    );
    const docs = readFileSync(new URL("../../docs/observability.md", import.meta.url), "utf8");
    assert.ok(
      docs.includes(renderMetricTable()),
      "docs/observability.md carries a stale metric table: paste renderMetricTable()'s output",
    );
  });

  test("escapes a label value holding a quote, a backslash and a newline, and promtool accepts the scrape", async () => {
    const registry = new Registry();
    const metrics = createTelemetryMetrics({ registry });
    registerApprovalMetrics(registry, async () => [
      {
        agent: "support-triage",
        tool: HOSTILE,
        kind: "tool-call",
        routeTo: HOSTILE,
        status: "pending",
        count: 2,
        edited: 0,
        overdue: 1,
        decisionSecondsP50: null,
        decisionSecondsP95: null,
        decisionSecondsSum: 0,
      },
    ]);
    // The agent registry's gauges were hand-written text that wrote versions unescaped.
    registerRegistryMetrics(registry, async () => [
      {
        agent: "support-triage",
        version: HOSTILE,
        status: "active",
        riskTier: 2,
        flags: ["orphan"],
      } as never,
    ]);
    const at = "2026-12-01T00:00:00.000Z";
    metrics.observeRun(
      [
        {
          runId: "r1",
          seq: 1,
          type: "run-start",
          at,
          payload: { agent: "support-triage", agentVersion: "1.0.0" },
        },
        {
          runId: "r1",
          seq: 2,
          type: "tool-call-end",
          at,
          payload: { step: 1, callId: "c1", tool: HOSTILE, outcome: "ok" },
        },
      ] as never,
      0,
    );
    const text = await registry.metrics();
    const escaped = 'support \\"tier\\\\2\\"\\nnight';
    assert.ok(text.includes(`keel_approvals_pending{route="${escaped}"} 2\n`), text);
    assert.ok(text.includes(`keel_approvals_overdue{route="${escaped}"} 1\n`), text);
    assert.ok(
      text.includes(`keel_approval_requests{agent="support-triage",tool="${escaped}",status="pending"} 2\n`),
      text,
    );
    assert.ok(
      text.includes(`keel_tool_calls_total{agent="support-triage",tool="${escaped}",outcome="ok"} 1\n`),
    );
    assert.ok(text.includes(`keel_agent_orphaned{agent="support-triage",version="${escaped}",tier="2"} 1\n`));
    // No raw newline inside a sample: every line is a comment, blank, or one whole sample.
    for (const line of text.split("\n"))
      assert.match(
        line,
        /^(#.*|[a-z_:]+(\{.*\})? [-+0-9.eInfa]+|)$/,
        `a broken line: ${JSON.stringify(line)}`,
      );
    if (promtool) {
      const lint = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
      assert.equal(lint.status, 0, lint.stdout + lint.stderr);
      assert.equal(`${lint.stdout}${lint.stderr}`.trim(), "", "zero findings");
    }
  });

  test("belongs to whoever builds it: two servers' registries register the same families without sharing a count", async () => {
    const first = new Registry();
    const second = new Registry();
    const counted = registerServerMetrics(first, {});
    registerServerMetrics(second, {});
    counted.driftAlert("support-triage", "tool_mix");
    assert.match(
      await first.metrics(),
      /keel_drift_alerts_total\{agent="support-triage",dimension="tool_mix"\} 1/,
    );
    assert.doesNotMatch(await second.metrics(), /keel_drift_alerts_total\{/);
  });
});
