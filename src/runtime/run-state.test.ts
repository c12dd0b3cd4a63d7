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
