import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { testStores } from "../../test/support/test-database.ts";
import { hashPayload, type NewEvent, type Principal } from "../journal/index.ts";
import type { SqlStore } from "../store/index.ts";
import { buildShadowReport, type normalizedMatch } from "./shadow-report.ts";

type Call = {
  tool: string;
  arguments: unknown;
  decision: "allow" | "review" | "deny";
  shadowed?: "live" | "stub" | "dry-run" | "not-executed";
};

const ada: Principal = { subject: "ada@example.com", tenant: "shop", roles: ["customer"] };

/** Write a run's journal as the runtime would have: each call's proposal, decision and end, then its answer. */
async function journal(
  store: SqlStore,
  options: {
    version: string;
    input: string;
    shadowOf?: string;
    calls: Call[];
    answer?: string;
    costUsd?: number;
    guardFindings?: number;
    principal?: Principal;
  },
): Promise<string> {
  const runId = `run_${crypto.randomUUID().replaceAll("-", "")}`;
  const now = new Date();
  await store.createRun({
    runId,
    start: {
      agent: "support",
      agentVersion: options.version,
      specHash: "0".repeat(64),
      input: options.input,
      principal: options.principal ?? ada,
      startedAt: now.toISOString(),
      deadlineAt: new Date(now.getTime() + 60_000).toISOString(),
      maxSteps: 10,
      ...(options.shadowOf ? { shadowOf: { runId: options.shadowOf } } : {}),
    },
    leaseTo: { owner: "test", ttlMs: 60_000 },
  });
  const events: NewEvent[] = [
    { type: "step-start", payload: { step: 1, node: "model" } },
    {
      type: "model-call-end",
      payload: {
        step: 1,
        provider: "scripted",
        model: "test",
        outcome: "ok",
        durationMs: 1,
        cost: { usd: options.costUsd ?? 0, priceTableVersion: "test", source: "table" },
      },
    },
  ];
  options.calls.forEach((call, index) => {
    const callId = `call_${index + 1}`;
    const argumentsHash = hashPayload(call.arguments);
    const base = { step: 1, callId, tool: call.tool };
    events.push(
      { type: "tool-call-propose", payload: { ...base, arguments: call.arguments, argumentsHash } },
      {
        type: "policy-decision",
        payload: {
          callId,
          argumentsHash,
          action: "tool-call",
          decision: call.decision,
          reasons: [],
          target: call.tool,
          ...(call.shadowed ? { shadowed: true as const } : {}),
        },
      },
      {
        type: "tool-call-end",
        payload: {
          ...base,
          outcome: "ok",
          result: { ok: true },
          durationMs: 1,
          ...(call.shadowed ? { shadowed: { answer: call.shadowed } } : {}),
        },
      },
    );
  });
  for (let index = 0; index < (options.guardFindings ?? 0); index++) {
    events.push({
      type: "guard-flag",
      payload: {
        where: "input",
        detector: "injection@1",
        score: 0.9,
        threshold: 0.5,
        rules: [],
        classes: ["instruction-override"],
        action: "flag",
        textHash: "0".repeat(64),
        textLength: options.input.length,
      },
    });
  }
  if (options.answer !== undefined) {
    events.push({ type: "run-end", payload: { status: "completed", answer: options.answer, steps: 1 } });
  }
  const lease = { runId, owner: "test", token: 1, expiresAt: new Date(Date.now() + 60_000) };
  await store.append({ lease, events });
  return runId;
}

for (const kind of testStores()) {
  describe(`the shadow report on ${kind.name}`, () => {
    let store: SqlStore;
    before(async () => {
      store = await kind.open();
    });
    after(async () => {
      await store?.close();
    });

    const report = (options: {
      candidateVersion?: string;
      tenant?: string;
      grader?: typeof normalizedMatch;
    }) =>
      buildShadowReport({
        sql: store.sql,
        readEvents: (runId) => store.readEvents({ runId }),
        agent: "support",
        tenant: options.tenant ?? "shop",
        stableVersion: "1.0.0",
        candidateVersion: options.candidateVersion ?? "2.0.0",
        ...(options.grader ? { grader: options.grader } : {}),
      });

    test("gives the agreement of answers, trajectories and policy decisions of constructed pairs", async () => {
      const order = { orderId: 1042 };
      const refund = { orderId: 1042, amount: "96.00" };
      // Same tools, same answer once case and punctuation are folded, a refund the candidate would have held.
      const a = await journal(store, {
        version: "1.0.0",
        input: "refund 1042",
        calls: [
          { tool: "get_order", arguments: order, decision: "allow" },
          { tool: "issue_refund", arguments: refund, decision: "allow" },
        ],
        answer: "Done, Ada.",
        costUsd: 0.01,
      });
      await journal(store, {
        version: "2.0.0",
        input: "refund 1042",
        shadowOf: a,
        calls: [
          { tool: "get_order", arguments: order, decision: "allow" },
          { tool: "issue_refund", arguments: refund, decision: "review", shadowed: "live" },
        ],
        answer: "done,  ada!",
        costUsd: 0.03,
      });
      // Another tool and another answer.
      const b = await journal(store, {
        version: "1.0.0",
        input: "shipping?",
        calls: [{ tool: "search_kb", arguments: { query: "shipping" }, decision: "allow" }],
        answer: "Shipping takes 3 days.",
        costUsd: 0.01,
      });
      await journal(store, {
        version: "2.0.0",
        input: "shipping?",
        shadowOf: b,
        calls: [
          { tool: "create_ticket", arguments: { subject: "shipping" }, decision: "allow", shadowed: "stub" },
        ],
        answer: "A person will follow up.",
        costUsd: 0.03,
      });
      // Both denied the look-up and said so; the candidate's input guard flagged it.
      const c = await journal(store, {
        version: "1.0.0",
        input: "order 1050",
        calls: [{ tool: "get_order", arguments: { orderId: 1050 }, decision: "deny" }],
        answer: "Sorry.",
        costUsd: 0.01,
      });
      await journal(store, {
        version: "2.0.0",
        input: "order 1050",
        shadowOf: c,
        calls: [{ tool: "get_order", arguments: { orderId: 1050 }, decision: "deny" }],
        answer: "sorry",
        costUsd: 0.03,
        guardFindings: 2,
      });
      // A live run still going (its shadow ended): pending, in no figure.
      const d = await journal(store, { version: "1.0.0", input: "hi", calls: [] });
      await journal(store, { version: "2.0.0", input: "hi", shadowOf: d, calls: [], answer: "Hi" });
      // Shadows of another candidate, and of another tenant's live run, are not in this report.
      await journal(store, { version: "3.0.0", input: "refund 1042", shadowOf: a, calls: [], answer: "x" });
      const bob = { subject: "bob", tenant: "other", roles: [] };
      const e = await journal(store, {
        version: "1.0.0",
        input: "hi",
        calls: [],
        answer: "Hi",
        principal: bob,
      });
      await journal(store, {
        version: "2.0.0",
        input: "hi",
        shadowOf: e,
        calls: [],
        answer: "Hi",
        principal: bob,
      });

      const shop = await report({});
      assert.equal(shop.pairs, 3);
      assert.equal(shop.pending, 1);
      assert.equal(shop.grader, "normalized-match");
      assert.deepEqual(shop.answers, { compared: 3, agreed: 2, rate: 2 / 3 });
      assert.equal(shop.trajectories.agreed, 2);
      assert.deepEqual(shop.trajectories.perTool, [
        { tool: "create_ticket", live: 0, candidate: 1, sameArguments: 0 },
        { tool: "get_order", live: 2, candidate: 2, sameArguments: 2 },
        { tool: "issue_refund", live: 1, candidate: 1, sameArguments: 1 },
        { tool: "search_kb", live: 1, candidate: 0, sameArguments: 0 },
      ]);
      assert.deepEqual(shop.policyDecisions, {
        compared: 3,
        agreed: 2,
        rate: 2 / 3,
        matrix: { allow: { allow: 1, review: 1 }, deny: { deny: 1 } },
      });
      assert.deepEqual(shop.shadowed, { live: 1, stub: 1 });
      assert.ok(Math.abs(shop.stable.costUsd.total - 0.03) < 1e-9);
      assert.ok(Math.abs(shop.candidate.costUsd.mean! - 0.03) < 1e-9);
      assert.deepEqual([shop.stable.guardFindings, shop.candidate.guardFindings], [0, 2]);
      assert.deepEqual([shop.stable.runsFlagged, shop.candidate.runsFlagged], [0, 1]);
      assert.deepEqual(shop.candidate.statuses, { completed: 3 });
      assert.ok(shop.stable.latencyMs.p95 !== null && shop.stable.latencyMs.p95 >= 0);
      assert.deepEqual(shop.people, {
        compared: 0,
        agreed: 0,
        rate: null,
        byTool: [],
        byDecision: [],
        byKind: [],
      });

      const other = await report({ tenant: "other" });
      assert.equal(other.pairs, 1);
      assert.deepEqual(other.answers, { compared: 1, agreed: 1, rate: 1 });
      assert.equal((await report({ candidateVersion: "3.0.0" })).pairs, 1);
    });

    test("grades answers with the grader it is given, such as a judge", async () => {
      const asked: string[] = [];
      const lenient = {
        name: "judge:helpful",
        grade: ({ actual }: { actual: string }) => {
          asked.push(actual);
          return Promise.resolve({ agree: actual.length > 0, score: 1 });
        },
      };
      const graded = await report({ grader: lenient });
      assert.equal(graded.grader, "judge:helpful");
      assert.deepEqual(graded.answers, { compared: 3, agreed: 3, rate: 1 });
      assert.equal(asked.length, 3);
    });
  });
}
