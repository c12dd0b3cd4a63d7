import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { loadAgentSpec } from "./load-agent-spec.ts";
import { floatingAliasReason } from "./model-pinning.ts";
import { SpecError } from "./spec-error.ts";

/** Writes an agent whose spec ends with `tail` (a model section and anything after it); returns the spec path. */
function writeAgent(tail: string): string {
  const dir = mkdtempSync(join(tmpdir(), "keel-rollout-spec-"));
  mkdirSync(join(dir, "prompts"));
  writeFileSync(join(dir, "prompts", "p.md"), "You help.\n");
  writeFileSync(
    join(dir, "agent.yaml"),
    `apiVersion: keel/v1
kind: Agent
name: helper
version: 1.0.0
description: Helps.
owner: { team: ops }
riskTier: 3
prompt: ./prompts/p.md
${tail}`,
  );
  return join(dir, "agent.yaml");
}

const PINNED = "model: { provider: anthropic, id: claude-sonnet-4-5-20250929 }\n";

async function issuesOf(file: string): Promise<{ path: string; line: number; message: string }[]> {
  try {
    await loadAgentSpec(file);
  } catch (error) {
    assert.ok(error instanceof SpecError, String(error));
    return error.issues.map(({ path, line, message }) => ({ path, line, message }));
  }
  return assert.fail("expected the spec to be rejected");
}

describe("the rollout section", () => {
  test("a spec without one gets the default canary ramp 5 → 25 → 50 → 100, sticky by user, with success and latency gates", async () => {
    const { spec } = await loadAgentSpec(writeAgent(PINNED));
    assert.equal(spec.rollout.strategy, "canary");
    assert.equal(spec.rollout.stickiness, "user");
    assert.deepEqual(
      spec.rollout.canary.stages.map((stage) => [stage.percent, stage.minRuns, stage.minDuration]),
      [
        [5, 30, 600_000],
        [25, 30, 600_000],
        [50, 30, 600_000],
        [100, 30, 600_000],
      ],
    );
    assert.deepEqual(spec.rollout.canary.gates, {
      successRate: { maxDrop: 0.05 },
      p95LatencyMs: { maxRatio: 1.5 },
      confidence: 0.95,
    });
    assert.deepEqual(spec.rollout.shadow, { results: {}, default: "live" });
    assert.equal(spec.rollout.ab.candidatePercent, 50);
  });

  test("reads stages with durations, gates, per-tool shadow results and the A/B split", async () => {
    const { spec } = await loadAgentSpec(
      writeAgent(`${PINNED}rollout:
  strategy: ab
  stickiness: session
  canary:
    stages: [{ percent: 10, minRuns: 20, minDuration: 1h }, { percent: 100 }]
    gates: { successRate: { maxDrop: 0.1 }, costPerRun: { maxRatio: 1.2 }, confidence: 0.9 }
  shadow:
    results: { issue_refund: { stub: { refunded: true } }, send_email: dry-run }
  ab: { candidatePercent: 20 }
`),
    );
    assert.equal(spec.rollout.strategy, "ab");
    assert.equal(spec.rollout.stickiness, "session");
    assert.deepEqual(spec.rollout.canary.stages, [
      { percent: 10, minRuns: 20, minDuration: 3_600_000 },
      { percent: 100, minRuns: 30, minDuration: 600_000 },
    ]);
    assert.deepEqual(spec.rollout.canary.gates, {
      successRate: { maxDrop: 0.1 },
      costPerRun: { maxRatio: 1.2 },
      confidence: 0.9,
    });
    assert.deepEqual(spec.rollout.shadow.results, {
      issue_refund: { stub: { refunded: true } },
      send_email: "dry-run",
    });
    assert.equal(spec.rollout.ab.candidatePercent, 20);
  });

  test("names the field of each bad value: a strategy, a key, a stage that does not rise, a gate, a shadow result", async () => {
    const issues = await issuesOf(
      writeAgent(`${PINNED}rollout:
  strategy: big-bang
  stickiness: tenant
  canary:
    stages: [{ percent: 50 }, { percent: 25 }]
    gates: { successRate: { maxDrop: 2 } }
  shadow:
    results: { issue_refund: maybe }
`),
    );
    assert.deepEqual(
      issues.map((issue) => issue.path),
      [
        "rollout.strategy",
        "rollout.stickiness",
        "rollout.canary.stages[1].percent",
        "rollout.canary.gates.successRate.maxDrop",
        "rollout.shadow.results.issue_refund",
      ],
      JSON.stringify(issues, null, 2),
    );
    assert.match(issues[2]!.message, /more than the stage before \(50\)/);
  });
});

describe("model pinning", () => {
  test("tells floating aliases from pinned snapshots, by the stated rule", () => {
    const floating = [
      ["anthropic", "claude-sonnet-4-5"],
      ["anthropic", "claude-3-5-sonnet-latest"],
      ["openai", "gpt-4o"],
      ["openai", "o3-mini"],
      ["openai", "chatgpt-4o-latest"],
      ["google", "gemini-1.5-pro-latest"],
      ["local", "llama3.1:latest"],
    ];
    const pinned = [
      ["anthropic", "claude-sonnet-4-5-20250929"],
      ["anthropic", "claude-3-5-sonnet@20240620"],
      ["openai", "gpt-5-mini-2025-08-07"],
      ["openai", "text-embedding-3-small"],
      ["google", "gemini-2.5-pro"],
      ["local", "llama3.1:8b"],
      ["rules", "offline"],
    ];
    for (const [provider, id] of floating) assert.notEqual(floatingAliasReason(provider!, id!), null, id);
    for (const [provider, id] of pinned) assert.equal(floatingAliasReason(provider!, id!), null, id);
  });

  test("refuses a floating alias at load, naming the field, in the model and its fallbacks", async () => {
    const issues = await issuesOf(
      writeAgent(`model:
  provider: anthropic
  id: claude-sonnet-4-5
  fallbacks: [{ provider: openai, id: gpt-4o }]
`),
    );
    assert.deepEqual(
      issues.map((issue) => [issue.path, issue.line]),
      [
        ["model.id", 11],
        ["model.fallbacks[0].id", 12],
      ],
    );
    assert.match(issues[0]!.message, /no snapshot date.*model\.allowFloatingAlias: true/);
  });

  test("accepts a floating alias the spec allows explicitly", async () => {
    const { spec } = await loadAgentSpec(
      writeAgent("model: { provider: anthropic, id: claude-sonnet-4-5, allowFloatingAlias: true }\n"),
    );
    assert.equal(spec.model.id, "claude-sonnet-4-5");
  });
});
