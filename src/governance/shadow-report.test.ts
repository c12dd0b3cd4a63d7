import assert from "node:assert/strict";
import { test } from "node:test";
import type { PayloadOf } from "../journal/events.ts";
import { openStore } from "../store/open-store.ts";
import { shadowReport } from "./shadow-report.ts";

test("reports how many decisions each shadow policy would have changed, from the journal", async () => {
  const store = await openStore({});
  try {
    const principal = { subject: "ada", tenant: "acme", roles: [] };
    const { run } = await store.createRun({
      runId: "run_shadow",
      start: {
        agent: "support",
        agentVersion: "1.0.0",
        specHash: "sha256:x",
        input: "hi",
        principal,
        startedAt: "2026-01-01T00:00:00.000Z",
        deadlineAt: "2026-01-01T00:02:00.000Z",
        maxSteps: 5,
      },
    });
    const lease = await store.acquireLease({ runId: run.runId, owner: "t", ttlMs: 10_000 });
    assert.ok(lease);
    const decision = (
      target: string,
      shadow?: PayloadOf<"policy-decision">["shadow"],
    ): PayloadOf<"policy-decision"> => ({
      action: "tool-call",
      decision: "allow",
      reasons: [],
      agent: { name: "support", version: "1.0.0" },
      principal,
      target,
      policies: [],
      ...(shadow ? { shadow } : {}),
    });
    await store.append({
      lease,
      events: [
        { type: "policy-decision", payload: decision("get_order") },
        {
          type: "policy-decision",
          payload: decision("issue_refund", {
            decision: "deny",
            policies: ["strict.cedar#no-refunds"],
            reasons: [],
          }),
        },
        {
          type: "policy-decision",
          payload: decision("issue_refund", {
            decision: "deny",
            policies: ["strict.cedar#no-refunds"],
            reasons: [],
          }),
        },
        {
          type: "policy-decision",
          payload: decision("send_email", {
            decision: "review",
            policies: ["strict.cedar#email"],
            reasons: [],
          }),
        },
      ],
    });
    const report = await shadowReport(store.sql, "support");
    assert.equal(report.decisions, 4);
    assert.equal(report.changed, 3);
    assert.deepEqual(report.byPolicy, [
      { policy: "strict.cedar#no-refunds", decisions: 2, wouldDeny: 2, wouldReview: 0, wouldAllow: 0 },
      { policy: "strict.cedar#email", decisions: 1, wouldDeny: 0, wouldReview: 1, wouldAllow: 0 },
    ]);
    assert.equal(report.examples.length, 3);
    assert.equal((await shadowReport(store.sql, "nobody")).decisions, 0);
  } finally {
    await store.close();
  }
});
