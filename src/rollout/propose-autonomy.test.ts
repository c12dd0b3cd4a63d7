import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { GovernanceSection } from "../spec/index.ts";
import type { ApprovalHistoryRow } from "./approval-history.ts";
import { proposeAutonomy } from "./propose-autonomy.ts";
import { unifiedDiff } from "./unified-diff.ts";

const GOVERNANCE = GovernanceSection.parse({
  allowedTools: ["lookup", "refund", "send_email", "close_ticket"],
  decisionAuthority: {
    autonomous: ["lookup"],
    requiresHumanReview: [{ tool: "refund", when: "input.amount > 100" }],
    forbidden: [],
  },
});

function rows(
  tool: string,
  policies: string[],
  counts: Partial<Record<"unchanged" | "edited" | "rejected" | "expired", number>>,
) {
  const history: ApprovalHistoryRow[] = [];
  if (counts.unchanged)
    history.push({ tool, policies, status: "approved", edited: false, count: counts.unchanged });
  if (counts.edited) history.push({ tool, policies, status: "approved", edited: true, count: counts.edited });
  if (counts.rejected)
    history.push({ tool, policies, status: "rejected", edited: false, count: counts.rejected });
  if (counts.expired)
    history.push({ tool, policies, status: "expired", edited: false, count: counts.expired });
  return history;
}

const REFUND_ABOVE_100 = ["governance.decisionAuthority.requiresHumanReview[0]"];
const SEND_EMAIL_UNLISTED = ["decision-authority:unlisted:send_email"];

describe("proposeAutonomy", () => {
  test("only approvals unchanged count: edits, rejections and expiries keep a class under review", () => {
    const report = proposeAutonomy({
      agent: "support",
      version: "1.0.0",
      governance: GOVERNANCE,
      history: rows("send_email", SEND_EMAIL_UNLISTED, { unchanged: 90, edited: 6, rejected: 3, expired: 1 }),
    });
    assert.deepEqual(report.settings, { threshold: 0.95, minDecisions: 50, confidence: 0.95 });
    const [evidence] = report.classes;
    assert.equal(evidence!.decided, 100);
    assert.equal(evidence!.approvedUnchanged, 90);
    assert.equal(evidence!.status, "below threshold");
    assert.equal(evidence!.description, "send_email (listed in no tier)");
    assert.deepEqual(report.proposals, []);
  });

  test("at the default 95% threshold, 73 straight approvals are the fewest that propose a class", () => {
    const at = (unchanged: number) =>
      proposeAutonomy({
        agent: "support",
        version: "1.0.0",
        governance: GOVERNANCE,
        history: rows("send_email", SEND_EMAIL_UNLISTED, { unchanged }),
      });
    assert.equal(at(72).classes[0]!.status, "below threshold");
    const proposed = at(73);
    assert.equal(proposed.proposals.length, 1);
    assert.deepEqual(proposed.proposals[0]!.after.autonomous, ["lookup", "send_email"]);
    assert.match(proposed.proposals[0]!.diff, /^\+ {6}- send_email$/m);
  });

  test("lifting a conditional review rule that is the tool's last tier entry lists the tool as autonomous", () => {
    const report = proposeAutonomy({
      agent: "support",
      version: "1.0.0",
      governance: GOVERNANCE,
      history: rows("refund", REFUND_ABOVE_100, { unchanged: 80 }),
    });
    const [proposal] = report.proposals;
    assert.equal(proposal!.description, "refund when input.amount > 100");
    assert.deepEqual(proposal!.after.requiresHumanReview, []);
    assert.deepEqual(proposal!.after.autonomous, ["lookup", "refund"]);
    assert.deepEqual(proposal!.before, GOVERNANCE.decisionAuthority);
    assert.match(proposal!.yaml, /^governance:\n {2}decisionAuthority:\n/);
  });

  test("a class held by a team policy, or by a rule the spec no longer has, gets no proposal", () => {
    const report = proposeAutonomy({
      agent: "support",
      version: "1.0.0",
      governance: GOVERNANCE,
      history: [
        ...rows("close_ticket", ["policies/tickets.cedar#0"], { unchanged: 200 }),
        ...rows("refund", ["governance.decisionAuthority.requiresHumanReview[3]"], { unchanged: 200 }),
      ],
    });
    assert.deepEqual(
      report.classes.map((evidence) => evidence.status),
      ["held outside decision authority", "no longer held"],
    );
    assert.deepEqual(report.proposals, []);
  });

  test("an autonomous tool whose upper bound falls below the threshold is proposed back to review", () => {
    const governance = GovernanceSection.parse({
      ...GOVERNANCE,
      decisionAuthority: { ...GOVERNANCE.decisionAuthority, autonomous: ["lookup", "send_email"] },
    });
    const report = proposeAutonomy({
      agent: "support",
      version: "1.1.0",
      governance,
      history: rows("send_email", SEND_EMAIL_UNLISTED, { unchanged: 14, rejected: 6 }),
    });
    const [proposal] = report.proposals;
    assert.equal(proposal!.kind, "return-to-review");
    assert.deepEqual(proposal!.after.autonomous, ["lookup"]);
    assert.ok(proposal!.evidence.interval.high < 0.95);
    assert.match(
      proposal!.reason,
      /^send_email is autonomous, but of 20 decided calls only 14 were approved unchanged/,
    );
  });

  test("the spec's governance.autonomy overrides the defaults", () => {
    const governance = GovernanceSection.parse({
      ...GOVERNANCE,
      autonomy: { threshold: 0.8, minDecisions: 20 },
    });
    const report = proposeAutonomy({
      agent: "support",
      version: "1.0.0",
      governance,
      history: rows("send_email", SEND_EMAIL_UNLISTED, { unchanged: 20 }),
    });
    assert.equal(report.proposals.length, 1);
  });
});

describe("unifiedDiff", () => {
  test("shows removed and added lines with their context and hunk header", () => {
    const before = "a\nb\nc\nd\ne\nf\ng\nh\n";
    const after = "a\nb\nc\nD\ne\nf\ng\nh\ni\n";
    assert.equal(
      unifiedDiff({ before, after, fromFile: "old", toFile: "new", context: 1 }),
      "--- old\n+++ new\n@@ -3,3 +3,3 @@\n c\n-d\n+D\n e\n@@ -8,1 +8,2 @@\n h\n+i\n",
    );
    assert.equal(unifiedDiff({ before, after: before, fromFile: "old", toFile: "new" }), "");
  });
});
