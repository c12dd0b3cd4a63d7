import assert from "node:assert/strict";
import { test } from "node:test";
import type { JournalEvent, NewEvent } from "../journal/events.ts";
import type { Store } from "../store/store.ts";
import { outcomeFromEvents } from "./case-outcome.ts";
import { caseFromRun } from "./import-cases.ts";

function journal(events: NewEvent[]): JournalEvent[] {
  return events.map(
    (event, index) =>
      ({
        ...event,
        runId: "run_1",
        seq: index + 1,
        at: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, index * 100)).toISOString(),
        schemaVersion: 1,
        payloadHash: "",
        prevHash: "",
        hash: "",
      }) as JournalEvent,
  );
}

const principal = { subject: "ada", tenant: "default", roles: ["customer"] };
const lead = { subject: "lee", tenant: "default", roles: ["support-lead"] };

test("reads a run's outcome from its journal: calls with their decisions, approvals, steps, cost and latency", () => {
  const events = journal([
    {
      type: "run-start",
      payload: {
        agent: "a",
        agentVersion: "1",
        specHash: "h",
        input: "refund 1017",
        principal,
        startedAt: "",
        deadlineAt: "",
        maxSteps: 5,
      },
    },
    { type: "step-start", payload: { step: 1, node: "model" } },
    {
      type: "model-call-end",
      payload: {
        step: 1,
        provider: "p",
        model: "m",
        outcome: "ok",
        durationMs: 1,
        cost: { usd: 0.002, priceTableVersion: "v", source: "table" },
      },
    },
    {
      type: "tool-call-propose",
      payload: {
        step: 1,
        callId: "c1",
        tool: "issue_refund",
        arguments: { amount: "281.00" },
        argumentsHash: "x",
      },
    },
    {
      type: "policy-decision",
      payload: { callId: "c1", action: "tool-call", decision: "review", reasons: ["above 100"] },
    },
    { type: "run-suspend", payload: { reason: "review" } },
    {
      type: "approval-decision",
      payload: { approvalId: "ap1", decision: "approve", by: lead, approvals: 1, final: false },
    },
    {
      type: "approval-decision",
      payload: {
        approvalId: "ap1",
        decision: "approve",
        by: { ...lead, subject: "kim" },
        approvals: 2,
        final: true,
      },
    },
    { type: "run-resume", payload: { reason: "approved", worker: "w" } },
    {
      type: "tool-call-start",
      payload: { step: 1, callId: "c1", tool: "issue_refund", idempotencyKey: "k", attempt: 1 },
    },
    {
      type: "tool-call-end",
      payload: { step: 1, callId: "c1", tool: "issue_refund", outcome: "ok", result: {}, durationMs: 1 },
    },
    { type: "step-start", payload: { step: 2, node: "model" } },
    {
      type: "model-call-end",
      payload: {
        step: 2,
        provider: "p",
        model: "m",
        outcome: "ok",
        durationMs: 1,
        cost: { usd: 0.001, priceTableVersion: "v", source: "table" },
      },
    },
    { type: "run-end", payload: { status: "completed", answer: "Refunded 281.00", steps: 2 } },
  ]);
  const outcome = outcomeFromEvents(events);
  assert.deepEqual(outcome.toolCalls, [
    {
      tool: "issue_refund",
      arguments: { amount: "281.00" },
      decision: "review",
      executed: true,
      outcome: "ok",
    },
  ]);
  assert.deepEqual(outcome.approvals, ["approved"], "only the final approval counts");
  assert.deepEqual(
    [outcome.status, outcome.answer, outcome.steps, outcome.latencyMs],
    ["completed", "Refunded 281.00", 2, 1300],
  );
  assert.ok(Math.abs(outcome.costUsd - 0.003) < 1e-12);
});

test("an escalation a person approved becomes a case that expects the hold, with the resolution noted", async () => {
  const events = journal([
    {
      type: "run-start",
      payload: {
        agent: "a",
        agentVersion: "1",
        specHash: "h",
        input: "Refund 1017, I'm ada@example.com",
        principal,
        startedAt: "",
        deadlineAt: "",
        maxSteps: 5,
      },
    },
    {
      type: "tool-call-propose",
      payload: { step: 1, callId: "c0", tool: "get_order", arguments: { orderId: 1017 }, argumentsHash: "y" },
    },
    {
      type: "policy-decision",
      payload: { callId: "c0", action: "tool-call", decision: "allow", reasons: [] },
    },
    {
      type: "tool-call-propose",
      payload: {
        step: 2,
        callId: "c1",
        tool: "issue_refund",
        arguments: { amount: "281.00" },
        argumentsHash: "x",
      },
    },
    {
      type: "policy-decision",
      payload: { callId: "c1", action: "tool-call", decision: "review", reasons: ["above 100"] },
    },
    {
      type: "approval-decision",
      payload: { approvalId: "ap1", decision: "approve", by: lead, approvals: 1, final: true },
    },
    {
      type: "tool-call-propose",
      payload: { step: 3, callId: "c2", tool: "send_email", arguments: {}, argumentsHash: "z" },
    },
    { type: "run-end", payload: { status: "completed", answer: "Refunded", steps: 3 } },
  ]);
  const store = { readEvents: async () => events } as unknown as Store;
  const imported = await caseFromRun({ store, runId: "run_1" });
  assert.equal(imported.input, "Refund 1017, I'm [email]");
  assert.equal(imported.category, "escalation");
  assert.deepEqual(imported.tags, ["imported", "human-approved"]);
  assert.equal(imported.notes, "In production a person approved the held issue_refund call.");
  assert.deepEqual(imported.expect, {
    status: "suspended",
    tools: { called: ["get_order", "issue_refund"] },
    governance: { issue_refund: "escalated" },
  });
  assert.deepEqual(imported.source, { kind: "escalation", ref: "run_1" });
});
