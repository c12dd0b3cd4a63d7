import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type ApprovalScenario, approvalScenario, approver } from "../../test/support/approval-scenario.ts";
import { EvalCase } from "../evals/eval-case.ts";
import type { KeelStore } from "../store/keel-store.ts";
import { openStore } from "../store/open-store.ts";
import { approvalMetrics } from "./approval-metrics.ts";
import { foldApproval } from "./approval-view.ts";
import { decideApproval } from "./decide-approval.ts";
import { explainRun } from "./explain-run.ts";
import { caseFromResolution } from "./promote-resolution.ts";

const scenarios: ApprovalScenario[] = [];
let store: KeelStore;
before(async () => {
  store = await openStore({});
});
after(async () => {
  for (const scenario of scenarios) await scenario.close();
  await store.close();
});

async function scenario(options: Parameters<typeof approvalScenario>[0]): Promise<ApprovalScenario> {
  const created = await approvalScenario({ ...options, store });
  scenarios.push(created);
  return created;
}

const lookup = (callId: string) => ({
  kind: "tool-calls" as const,
  calls: [{ callId, tool: "lookup", arguments: { orderId: 1017 } }],
});

describe("handoffs", () => {
  test("a tool that keeps failing hands the run to a person with its context; the resolution is the answer and an eval case", async () => {
    const s = await scenario({
      approvals: { escalateWhen: { toolFailures: 2 }, handoffTo: "tier-2-support" },
      failingLookup: true,
      turns: [lookup("c1"), lookup("c2"), { kind: "answer", text: "never reached" }],
    });
    const run = await s.run("Where is order 1017?");
    assert.equal(run.status, "suspended");
    const [request] = await store.listApprovals({ runId: run.runId });
    assert.ok(request);
    assert.deepEqual([request.kind, request.routeTo, request.tool], ["handoff", "tier-2-support", null]);
    assert.match(
      request.request.reasons[0]!,
      /2 tool calls in a row failed \(last: lookup: the order service is down\)/,
    );
    assert.ok(request.request.context.recent.some((turn) => turn.includes("the order service is down")));
    assert.match(
      explainRun(await store.readEvents({ runId: run.runId })) ?? "",
      /waiting for tier-2-support to review your request/,
    );

    await assert.rejects(
      decideApproval({
        store,
        approvalId: request.approvalId,
        input: {
          decision: "approve",
          approver: approver("kim", ["approver:tier-2-support"]),
          argumentsHash: "0".repeat(64),
        },
      }),
      /a handoff is resolved/,
    );
    await decideApproval({
      store,
      approvalId: request.approvalId,
      input: {
        decision: "resolve",
        approver: approver("kim", ["approver:tier-2-support"]),
        resolution: "Order 1017 was delivered on 3 March.",
      },
    });
    const done = await s.settle(run.runId);
    assert.deepEqual([done.status, done.answer], ["completed", "Order 1017 was delivered on 3 March."]);
    const view = foldApproval(await store.readEvents({ runId: run.runId }), request.approvalId)!;
    const promoted = EvalCase.parse(caseFromResolution(view));
    assert.deepEqual(
      [promoted.input, promoted.expect.reference, promoted.source],
      [
        "Where is order 1017?",
        "Order 1017 was delivered on 3 March.",
        { kind: "escalation", ref: `${run.runId}/${request.approvalId}` },
      ],
    );
  });

  test("a run about to use its last step hands off instead of failing", async () => {
    const s = await scenario({
      approvals: { escalateWhen: { stepsRemaining: 0 } },
      maxSteps: 2,
      turns: [lookup("c1"), lookup("c2"), lookup("c3")],
    });
    const run = await s.run();
    assert.equal(run.status, "suspended");
    const [request] = await store.listApprovals({ runId: run.runId });
    assert.match(request?.request.reasons[0] ?? "", /used 2 of its 2 steps/);
  });

  test("an answer the model is unsure of goes to a person; closing it gives the user an explanation", async () => {
    const s = await scenario({
      approvals: { escalateWhen: { lowConfidence: true } },
      turns: [{ kind: "answer", text: "I'm not sure which order you mean." }],
    });
    const run = await s.run();
    assert.equal(run.status, "suspended");
    const [request] = await store.listApprovals({ runId: run.runId });
    assert.ok(request);
    assert.deepEqual(request.request.reasons, ["the model reported low confidence in its answer"]);
    await decideApproval({
      store,
      approvalId: request.approvalId,
      input: { decision: "reject", approver: approver("kim"), comment: "duplicate of ticket 88" },
    });
    const done = await s.settle(run.runId);
    assert.equal(done.status, "failed");
    assert.match(
      done.answer ?? "",
      /passed it to payments-ops\. kim reviewed it and closed it: duplicate of ticket 88/,
    );
    assert.match(
      explainRun(await store.readEvents({ runId: run.runId })) ?? "",
      /the person it was passed to closed it/,
    );
  });

  test("a run that fails explains what it tried and where the request went", async () => {
    const s = await scenario({ maxSteps: 2, turns: [lookup("c1"), lookup("c2"), lookup("c3")] });
    const run = await s.run();
    assert.equal(run.status, "failed");
    const explanation = explainRun(await store.readEvents({ runId: run.runId }));
    assert.match(
      explanation ?? "",
      /^I couldn't finish your request: I used all the steps I'm allowed for one request before finishing\. What I tried: lookup \(done\); lookup \(done\)\./,
    );
  });
});

describe("draft-and-review", () => {
  test("an outbound email is a draft a person edits and sends; the edit rate is measured", async () => {
    const s = await scenario({
      approvals: { drafts: ["send_email"] },
      turns: [
        {
          kind: "tool-calls",
          calls: [
            { callId: "m1", tool: "send_email", arguments: { to: "ada@example.com", body: "Refund done" } },
          ],
        },
        { kind: "answer", text: "I've emailed you." },
      ],
    });
    const edited = await s.run();
    const plain = await s.run();
    assert.deepEqual([edited.status, plain.status], ["suspended", "suspended"]);
    assert.equal(s.emails.length, 0, "nothing is sent before a person reviews the draft");
    const [draft] = await store.listApprovals({ runId: edited.runId });
    assert.ok(draft);
    assert.deepEqual([draft.kind, draft.tool], ["draft", "send_email"]);
    await decideApproval({
      store,
      approvalId: draft.approvalId,
      input: {
        decision: "approve",
        approver: approver("kim"),
        argumentsHash: draft.argumentsHash!,
        arguments: { to: "ada@example.com", body: "Hi Ada, your refund of 281.00 is on its way." },
      },
    });
    const [other] = await store.listApprovals({ runId: plain.runId });
    await decideApproval({
      store,
      approvalId: other!.approvalId,
      input: { decision: "approve", approver: approver("kim"), argumentsHash: other!.argumentsHash! },
    });
    await s.settle(edited.runId);
    await s.settle(plain.runId);
    assert.deepEqual(s.emails.map((email) => email.body).sort(), [
      "Hi Ada, your refund of 281.00 is on its way.",
      "Refund done",
    ]);
    const metrics = approvalMetrics(await store.approvalStats());
    const entry = metrics.byAgentTool.find((row) => row.agent === s.agent.name && row.tool === "send_email");
    assert.deepEqual([entry?.drafts, entry?.draftEditRate, entry?.approvalRate], [2, 0.5, 1]);
  });
});
