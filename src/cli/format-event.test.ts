import assert from "node:assert/strict";
import { test } from "node:test";
import type { JournalEvent } from "../journal/events.ts";
import { formatEvent } from "./format-event.ts";

/** A stored event around a payload, as `keel run` streams it. */
function stored(type: JournalEvent["type"], payload: unknown): JournalEvent {
  return {
    runId: "run_1",
    seq: 5,
    type,
    at: "2026-01-01T00:00:00.000Z",
    payload,
    schemaVersion: 1,
    payloadHash: "h",
    prevHash: "p",
    hash: "x",
  } as JournalEvent;
}

test("shows what a suspended run waits for, a signal it received and a timer that fired", () => {
  assert.equal(
    formatEvent(
      stored("run-suspend", {
        reason: "wait for payment",
        wait: { signals: ["payment-confirmed", "payment-failed"], until: "2026-01-04T00:00:00.000Z" },
      }),
    ),
    "  suspended: wait for payment (waits for signal payment-confirmed or payment-failed or 2026-01-04T00:00:00.000Z)",
  );
  assert.equal(
    formatEvent(stored("run-suspend", { reason: "review", approvalId: "apr_1" })),
    "  suspended: review",
  );
  assert.equal(
    formatEvent(
      stored("signal-receive", {
        name: "payment-confirmed",
        payload: { id: "p-1" },
        by: { subject: "billing", tenant: "default", roles: [] },
      }),
    ),
    '  signal payment-confirmed from billing  {"id":"p-1"}',
  );
  assert.equal(
    formatEvent(stored("timer-fire", { dueAt: "2026-01-04T00:00:00.000Z" })),
    "  timer due at 2026-01-04T00:00:00.000Z fired",
  );
});
