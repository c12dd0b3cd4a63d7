import assert from "node:assert/strict";
import { test } from "node:test";
import type { JournalEvent } from "../journal/index.ts";
import { foldEvents } from "./run-state.ts";

function event(seq: number, at: string, type: string, payload: unknown): JournalEvent {
  return {
    runId: "run_1",
    seq,
    type,
    at,
    payload,
    schemaVersion: 1,
    payloadHash: "",
    prevHash: "",
    hash: "",
  } as JournalEvent;
}

const start = event(1, "2026-12-01T10:00:00.000Z", "run-start", {
  agent: "waits",
  agentVersion: "1.0.0",
  specHash: "sha256:x",
  input: "x",
  principal: { subject: "u", tenant: "default", roles: [] },
  startedAt: "2026-12-01T10:00:00.000Z",
  deadlineAt: "2026-12-01T10:10:00.000Z",
  maxSteps: 5,
});

test("a run's timeout pauses while it is suspended: a resume gives back the time it had left", () => {
  const state = foldEvents([
    start,
    event(2, "2026-12-01T10:04:00.000Z", "run-suspend", { reason: "waits", wait: { signals: ["go"] } }),
    event(3, "2026-12-04T09:00:00.000Z", "signal-receive", {
      name: "go",
      by: { subject: "u", tenant: "default", roles: [] },
    }),
    event(4, "2026-12-04T09:00:00.000Z", "run-resume", { reason: "signal go", worker: "w" }),
  ]);
  // Six of its ten minutes were left when it suspended, three days earlier.
  assert.equal(state.deadlineAt, "2026-12-04T09:06:00.000Z");
  assert.equal(state.suspendedAt, null);
});

test("a resume that names its deadline keeps it, and a resume after a crash changes nothing", () => {
  const named = foldEvents([
    start,
    event(2, "2026-12-01T10:04:00.000Z", "run-suspend", { reason: "held" }),
    event(3, "2026-12-01T11:00:00.000Z", "run-resume", {
      reason: "approved",
      worker: "w",
      deadlineAt: "2026-12-01T11:30:00.000Z",
    }),
  ]);
  assert.equal(named.deadlineAt, "2026-12-01T11:30:00.000Z");
  const crashed = foldEvents([
    start,
    event(2, "2026-12-01T10:01:00.000Z", "step-start", { step: 1, node: "model" }),
    event(3, "2026-12-01T10:05:00.000Z", "run-resume", { reason: "resumed from the journal", worker: "w" }),
  ]);
  assert.equal(crashed.deadlineAt, "2026-12-01T10:10:00.000Z");
});

test("events staged in this process, which have no time yet, leave the deadline alone instead of making it invalid", () => {
  const state = foldEvents([
    start,
    event(2, "", "run-suspend", { reason: "held" }),
    event(3, "", "run-resume", { reason: "approved", worker: "w" }),
  ]);
  assert.equal(state.deadlineAt, "2026-12-01T10:10:00.000Z");
});

test("a fan-out's branches fold from its child and branch events: children not yet seen to end, outcomes, writes", () => {
  const at = "2026-12-01T10:01:00.000Z";
  const state = foldEvents([
    start,
    event(2, at, "node-start", { node: "fan", kind: "parallel", visit: 1, step: 1 }),
    event(3, at, "child-start", { node: "fan", visit: 1, branch: "a", childRunId: "run_a", agent: "x" }),
    event(4, at, "child-start", {
      node: "fan",
      visit: 1,
      branch: "b",
      childRunId: "run_b",
      agent: "x",
      deadlineAt: "2026-12-01T10:02:00.000Z",
    }),
    event(5, at, "run-suspend", { reason: "children", wait: { children: 0 } }),
    event(6, at, "run-resume", { reason: "a child run ended", worker: "w" }),
    event(7, at, "child-end", {
      node: "fan",
      visit: 1,
      branch: "a",
      childRunId: "run_a",
      status: "completed",
      answer: "A",
    }),
    event(8, at, "branch-end", {
      node: "fan",
      visit: 1,
      branch: "a",
      outcome: "ok",
      output: "A",
      writes: "found",
    }),
  ]);
  assert.deepEqual(Object.keys(state.workflow.children), ["run_b"], "b is still running");
  assert.equal(state.workflow.childEnds, 1);
  const fanOut = state.workflow.fanOut!;
  assert.deepEqual(fanOut.started.b, { childRunId: "run_b", deadlineAt: "2026-12-01T10:02:00.000Z" });
  assert.deepEqual(fanOut.childEnded.a, { status: "completed", answer: "A" });
  assert.deepEqual([fanOut.ended.a?.outcome, fanOut.settled], ["ok", 1]);
  assert.deepEqual(state.workflow.writes, [{ node: "fan", field: "found", output: "A" }]);

  // The node ends (b cancelled by the join, its failure list written); b's late end still counts, on no node.
  const ended = foldEvents([
    start,
    event(2, at, "node-start", { node: "fan", kind: "parallel", visit: 1, step: 1 }),
    event(3, at, "child-start", { node: "fan", visit: 1, branch: "b", childRunId: "run_b", agent: "x" }),
    event(4, at, "branch-end", {
      node: "fan",
      visit: 1,
      branch: "b",
      outcome: "cancelled",
      error: { code: "cancelled", message: "join" },
    }),
    event(5, at, "node-end", {
      node: "fan",
      visit: 1,
      outcome: "ok",
      next: "done",
      alsoWrites: [{ writes: "failed", output: [] }],
    }),
    event(6, at, "child-end", {
      node: "fan",
      visit: 1,
      branch: "b",
      childRunId: "run_b",
      status: "cancelled",
    }),
  ]);
  assert.equal(ended.workflow.fanOut, null);
  assert.deepEqual(ended.workflow.children, {});
  assert.equal(ended.workflow.childEnds, 1);
  assert.deepEqual(ended.workflow.writes, [{ node: "fan", field: "failed", output: [] }]);
});
