import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Registry as MetricsRegistry } from "prom-client";
import { isKeelError } from "../errors/keel-error.ts";
import { openStore } from "../store/open-store.ts";
import type { Store } from "../store/store.ts";
import { requiredGates } from "./lifecycle-rules.ts";
import { renderRegistryCard } from "./registry-card.ts";
import { type RegisterAgentVersion, scopeOf } from "./registry-entry.ts";
import { registerRegistryMetrics } from "./registry-metrics.ts";
import { createSqlRegistry, type Registry } from "./sql-registry.ts";

let store: Store;
let clock = new Date("2026-01-05T09:00:00Z");
let registry: Registry;
let agents = 0;

before(async () => {
  store = await openStore({});
  registry = createSqlRegistry(store.sql, { now: () => clock });
});
after(async () => await store.close());

function version(overrides: Partial<RegisterAgentVersion> = {}): RegisterAgentVersion {
  return {
    agent: `agent-${++agents}`,
    version: "1.0.0",
    specHash: "sha256:abc",
    description: "Answers order questions and refunds orders.",
    owner: { team: "support-ops", person: "dana@example.com" },
    riskTier: 2,
    scope: scopeOf({
      tools: [
        { name: "get_order", dataClasses: ["pii"], sideEffect: false },
        { name: "issue_refund", dataClasses: ["financial"], sideEffect: true },
      ],
      dataAccess: { allowPii: true, allowFinancial: true, maxRecordsPerQuery: 5 },
    }),
    ...overrides,
  };
}

async function attestAll(agent: string, ver: string, tier: 1 | 2 | 3, skip: string[] = []): Promise<void> {
  for (const gate of requiredGates(tier)) {
    if (skip.includes(gate)) continue;
    await registry.attest({
      agent,
      version: ver,
      gate,
      by: "priya@example.com",
      evidence: `https://wiki.example.com/${gate}`,
      details:
        gate === "eval_results"
          ? { score: 0.94, threshold: 0.9 }
          : gate === "cost_projection"
            ? { monthlyUsd: 420, approved: true }
            : {},
    });
  }
}

async function refused(promise: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(
    promise,
    (error: unknown) => isKeelError(error) && error.code === code && pattern.test(error.message),
  );
}

describe("the agent registry", () => {
  test("a new version is a draft with its owner, tier, scope and the gates it still lacks", async () => {
    const entry = await registry.register(version());
    assert.equal(entry.status, "draft");
    assert.deepEqual(entry.scope.dataClasses, ["financial", "pii"]);
    assert.deepEqual(entry.blockers, [
      "gate privacy_assessment is not attested",
      "gate security_review is not attested",
      "gate eval_results is not attested",
      "gate cost_projection is not attested",
    ]);
    assert.deepEqual(
      await registry.register(version({ agent: entry.agent })),
      entry,
      "registering again changes nothing",
    );
  });

  test("refuses activation while a gate is missing or falls short, then activates with every gate attested", async () => {
    const { agent, version: ver } = await registry.register(version());
    await registry.setStatus({ agent, version: ver, status: "in_review", by: "dana@example.com" });
    await attestAll(agent, ver, 2, ["security_review"]);
    await refused(
      registry.setStatus({ agent, version: ver, status: "active", by: "dana@example.com" }),
      "conflict",
      /gate security_review is not attested/,
    );
    await refused(
      registry.attest({
        agent,
        version: ver,
        gate: "eval_results",
        by: "priya",
        evidence: "https://ci/1",
        details: { score: 0.8, threshold: 0.9 },
      }),
      "invalid_request",
      /below the threshold/,
    );
    await refused(
      registry.attest({ agent, version: ver, gate: "legal_review", by: "priya", evidence: "https://x" }),
      "invalid_request",
      /tier-2 agent has no legal_review gate/,
    );
    await refused(
      registry.attest({ agent, version: ver, gate: "security_review", by: "sam", evidence: " " }),
      "invalid_request",
      /evidence/,
    );
    await registry.attest({
      agent,
      version: ver,
      gate: "security_review",
      by: "sam@example.com",
      evidence: "https://sec/42",
    });
    const active = await registry.setStatus({
      agent,
      version: ver,
      status: "active",
      by: "dana@example.com",
    });
    assert.deepEqual(
      [active.status, active.deployedAt?.toISOString(), active.blockers],
      ["active", clock.toISOString(), []],
    );
    assert.deepEqual(await registry.runnable(agent, ver), { ok: true });
    const history = await registry.history(agent);
    assert.deepEqual(history[0]?.details, { from: "in_review", to: "active" });
    assert.equal(history[0]?.actor, "dana@example.com");
  });

  test("a tier-1 agent also needs legal review, a red-team result and executive sign-off", async () => {
    const { agent, version: ver } = await registry.register(version({ riskTier: 1 }));
    await registry.setStatus({ agent, version: ver, status: "in_review", by: "dana" });
    await attestAll(agent, ver, 2);
    await refused(
      registry.setStatus({ agent, version: ver, status: "active", by: "dana" }),
      "conflict",
      /legal_review is not attested; gate red_team is not attested; gate executive_signoff is not attested/,
    );
    await attestAll(agent, ver, 1);
    assert.equal(
      (await registry.setStatus({ agent, version: ver, status: "active", by: "dana" })).status,
      "active",
    );
  });

  test("an agent without an owner cannot become active, and an active one that loses its owner is paused and flagged", async () => {
    const unowned = await registry.register(version({ owner: { team: "support-ops", person: null } }));
    await registry.setStatus({ agent: unowned.agent, version: "1.0.0", status: "in_review", by: "dana" });
    await attestAll(unowned.agent, "1.0.0", 2);
    await refused(
      registry.setStatus({ agent: unowned.agent, version: "1.0.0", status: "active", by: "dana" }),
      "conflict",
      /no owner/,
    );

    const owned = await registry.register(version());
    await registry.setStatus({ agent: owned.agent, version: "1.0.0", status: "in_review", by: "dana" });
    await attestAll(owned.agent, "1.0.0", 2);
    await registry.setStatus({ agent: owned.agent, version: "1.0.0", status: "active", by: "dana" });
    // The owner leaves: the directory no longer knows them.
    const paused = await registry.sweepOrphans({ isOwner: (person) => person !== "dana@example.com" });
    const swept = paused.find((entry) => entry.agent === owned.agent);
    assert.deepEqual([swept?.status, swept?.flags.includes("orphan")], ["paused", true]);
    assert.deepEqual(await registry.runnable(owned.agent, "1.0.0"), {
      ok: false,
      reason: `${owned.agent}@1.0.0 is paused, not active`,
    });
    // Removing the owner by hand pauses too.
    const other = await registry.register(version());
    await registry.setStatus({ agent: other.agent, version: "1.0.0", status: "in_review", by: "dana" });
    await attestAll(other.agent, "1.0.0", 2);
    await registry.setStatus({ agent: other.agent, version: "1.0.0", status: "active", by: "dana" });
    const ownerless = await registry.setOwner({
      agent: other.agent,
      version: "1.0.0",
      team: "support-ops",
      person: null,
      by: "hr-sync",
    });
    assert.deepEqual([ownerless.status, ownerless.flags], ["paused", ["orphan"]]);
  });

  test("reviews follow the tier's cadence, an overdue one is flagged, and incidents and scope changes ask for one", async () => {
    const { agent } = await registry.register(version({ riskTier: 1 }));
    await registry.setStatus({ agent, version: "1.0.0", status: "in_review", by: "dana" });
    await attestAll(agent, "1.0.0", 1);
    const started = clock;
    await registry.setStatus({ agent, version: "1.0.0", status: "active", by: "dana" });
    let entry = await registry.get(agent);
    assert.equal(entry?.reviewDueAt?.getTime(), started.getTime() + 91 * 86_400_000);
    clock = new Date(started.getTime() + 92 * 86_400_000);
    entry = await registry.get(agent);
    assert.ok(entry?.flags.includes("review_overdue"));
    const metrics = new MetricsRegistry();
    registerRegistryMetrics(metrics, async () => [entry!]);
    assert.match(
      await metrics.metrics(),
      new RegExp(`keel_agent_review_overdue\\{agent="${agent}",version="1.0.0",tier="1"\\} 1`),
    );
    entry = await registry.recordReview({
      agent,
      version: "1.0.0",
      by: "compliance@example.com",
      evidence: "https://reviews/7",
    });
    assert.deepEqual([entry.flags, entry.lastReviewAt?.toISOString()], [[], clock.toISOString()]);

    await registry.reportIncident({
      agent,
      by: "oncall@example.com",
      description: "refunded the wrong order",
    });
    entry = await registry.get(agent);
    assert.deepEqual(
      [entry?.flags, entry?.reviewReason],
      [["ad_hoc_review"], "incident: refunded the wrong order"],
    );

    const wider = await registry.register({
      ...version({ agent, version: "1.1.0", riskTier: 1 }),
      scope: scopeOf({ tools: [{ name: "send_email", sideEffect: true, sendsDataOutside: true }] }),
    });
    assert.deepEqual(wider.flags, ["ad_hoc_review", "scope_change"]);
    assert.equal(wider.reviewReason, "scope changed from 1.0.0");
  });

  test("the card shows owner, tier, scope, each gate with who attested it, when and the evidence, and history", async () => {
    const { agent } = await registry.register(version());
    await registry.setStatus({ agent, version: "1.0.0", status: "in_review", by: "dana" });
    await attestAll(agent, "1.0.0", 2, ["cost_projection"]);
    const entry = (await registry.get(agent))!;
    const card = renderRegistryCard(
      entry,
      await registry.attestations(agent, "1.0.0"),
      await registry.history(agent),
      {
        approvals: ["queue support-leads, SLA 4h"],
      },
    );
    assert.match(card, new RegExp(`REGISTRY CARD — ${agent} 1.0.0\\s+status: IN_REVIEW`));
    assert.match(card, /Owner\s+support-ops — dana@example\.com/);
    assert.match(card, /Risk tier\s+2 \(reviewed semi-annually, every 182 days\)/);
    assert.match(card, /issue_refund\s+data: financial; changes things/);
    assert.match(
      card,
      /✔ eval_results\s+priya@example\.com, 2026-\d\d-\d\d \(score 0\.94 ≥ 0\.9\) — https:\/\/wiki\.example\.com\/eval_results/,
    );
    assert.match(card, /✖ cost_projection\s+not attested/);
    assert.match(card, /cannot become active: gate cost_projection is not attested/);
    assert.match(card, /queue support-leads, SLA 4h/);
    assert.match(card, /dana: 1\.0\.0 draft → in_review/);
  });
});
