import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { JournalEvent } from "../journal/events.ts";
import { handoffReason, lowConfidenceReason } from "./hand-off.ts";
import { initialRunState, type RunState } from "./run-state.ts";

function state(overrides: Partial<RunState> = {}): RunState {
  const start = {
    runId: "run_1",
    seq: 1,
    type: "run-start",
    at: "",
    payload: {
      agent: "a",
      agentVersion: "1.0.0",
      specHash: "",
      input: "hi",
      principal: { subject: "ada", tenant: "t", roles: [] },
      startedAt: "",
      deadlineAt: "",
      maxSteps: 10,
    },
  } as unknown as Extract<JournalEvent, { type: "run-start" }>;
  return { ...initialRunState(start), ...overrides };
}

const failed = (tool: string, code: string, message = "boom") => ({
  role: "tool" as const,
  callId: "c",
  tool,
  content: { code, message },
  isError: true,
});

describe("when a run hands off to a person", () => {
  test("after N tool failures in a row, not when a success breaks the streak or a policy refused", () => {
    const rules = { toolFailures: 2 };
    const streak = state({
      messages: [
        { role: "user", content: "hi" },
        failed("lookup", "tool_failed"),
        failed("lookup", "tool_timeout", "slow"),
      ],
    });
    assert.equal(handoffReason(streak, rules), "2 tool calls in a row failed (last: lookup: slow)");
    const broken = state({
      messages: [
        failed("lookup", "tool_failed"),
        { role: "tool", callId: "c", tool: "lookup", content: {}, isError: false },
        failed("lookup", "tool_failed"),
      ],
    });
    assert.equal(handoffReason(broken, rules), null);
    assert.equal(
      handoffReason(state({ messages: [failed("refund", "denied"), failed("refund", "denied")] }), rules),
      null,
    );
  });

  test("after N tool calls whose arguments failed validation", () => {
    const invalid = state({
      messages: [failed("refund", "invalid_tool_arguments"), failed("refund", "invalid_tool_arguments")],
    });
    assert.match(handoffReason(invalid, { invalidOutput: 2 }) ?? "", /failed validation 2 times in a row/);
  });

  test("when the step or cost budget is about to run out", () => {
    assert.match(handoffReason(state({ step: 9 }), { stepsRemaining: 1 }) ?? "", /used 9 of its 10 steps/);
    assert.equal(handoffReason(state({ step: 8 }), { stepsRemaining: 1 }), null);
    assert.match(
      handoffReason(state({ spentUsd: 0.46 }), { budgetRemaining: 0.1 }, 0.5) ?? "",
      /spent 0\.4600 of its 0\.5 USD budget/,
    );
    assert.equal(handoffReason(state({ spentUsd: 0.4 }), { budgetRemaining: 0.1 }, 0.5), null);
    assert.equal(
      handoffReason(state({ spentUsd: 0.49 }), { budgetRemaining: 0.1 }),
      null,
      "no cap, nothing to run out",
    );
  });

  test("when the model says it is unsure, by default words or the spec's pattern", () => {
    assert.ok(lowConfidenceReason("I'm not sure which order you mean", { lowConfidence: true }));
    assert.equal(lowConfidenceReason("Your order shipped today", { lowConfidence: true }), null);
    assert.ok(lowConfidenceReason("CONFIDENCE: low", { lowConfidence: "confidence:\\s*low" }));
    assert.equal(lowConfidenceReason("I'm not sure", undefined), null);
  });
});
