import type { NewEvent, PayloadOf } from "../../journal/index.ts";

/**
 * The run a journal fixture was written from: a run-start and the events appended after it, chosen to reach
 * every corner of canonical JSON (key order by UTF-16 units, escapes, surrogate pairs, ECMAScript numbers,
 * `undefined` fields, a Date's `toJSON`, zod defaults). `journal-written-before.json` holds the events a store
 * wrote for them before appends canonicalised each payload once; the test holds today's store to those hashes.
 */
export const FIXTURE_RUN_ID = "run_fixture_before_canonical_once";

/** The run-start payload the fixture run was created with. */
export function fixtureRunStart(): PayloadOf<"run-start"> {
  return {
    agent: "fixture",
    agentVersion: "1.0.0",
    specHash: "sha256:fixture",
    input: 'Résumé: "quotes", back\\slash, tab\t, newline\n, emoji 😀, U+2028 \u2028, control \u0001',
    principal: { subject: "user:ada", tenant: "default", roles: ["analyst"] },
    startedAt: "2026-01-02T03:04:05.678Z",
    deadlineAt: "2026-01-02T04:04:05.678Z",
    maxSteps: 10,
  };
}

/** The events appended to the fixture run, one append each. */
export function fixtureAppends(): NewEvent[][] {
  const result = {
    zebra: 1,
    Zebra: 2,
    "\u20ac": "Euro Sign",
    "\r": "Carriage Return",
    "\ufb33": "Hebrew",
    "1": "One",
    "\u{1f600}": "Emoji",
    "\u0080": "Control",
    "\u00f6": "Latin",
    numbers: [1e21, 1e-7, -0, 0.1 + 0.2, 333333333.3333333, 5e-324, 2 ** 53 + 2, -17, 1.5e300],
    nested: { b: [true, false, null, { y: "y", x: "x" }], a: [] as unknown[], empty: {} },
    skipped: undefined,
    when: new Date("2026-01-02T03:04:05.678Z"),
    escapes: '\b\f\n\r\t \u001f " \\ / \u007f \ud83d\ude00',
  };
  return [
    [
      { type: "step-start", payload: { step: 1, node: "model" } },
      {
        type: "model-call-start",
        payload: { step: 1, provider: "scripted", model: "m", offline: true, routing: { reason: "default" } },
      },
      {
        type: "model-call-end",
        payload: {
          step: 1,
          provider: "scripted",
          model: "m",
          outcome: "ok",
          decision: {
            kind: "tool-calls",
            calls: [{ callId: "call_1", tool: "lookup", arguments: { z: 1, a: { d: [1, "two"], c: null } } }],
            text: "Je vais chercher « ça » — 🔎",
          },
          usage: { inputTokens: 12, outputTokens: 3 },
          durationMs: 1.25,
        },
      },
      {
        type: "tool-call-propose",
        payload: {
          step: 1,
          callId: "call_1",
          tool: "lookup",
          arguments: { z: 1, a: { d: [1, "two"], c: null } },
          argumentsHash: "a".repeat(64),
        },
      },
    ],
    [
      {
        type: "policy-decision",
        // The principal leaves tenant and roles out: the schema's defaults fill them in before hashing.
        payload: {
          callId: "call_1",
          action: "tool-call",
          decision: "allow",
          reasons: ["allowed by policy"],
          principal: { subject: "user:ada" } as PayloadOf<"policy-decision">["principal"] & object,
        },
      },
      {
        type: "tool-call-start",
        payload: { step: 1, callId: "call_1", tool: "lookup", idempotencyKey: "k:call_1", attempt: 1 },
      },
    ],
    [
      {
        type: "tool-call-end",
        payload: {
          step: 1,
          callId: "call_1",
          tool: "lookup",
          outcome: "ok",
          result,
          durationMs: 0.5,
          error: undefined,
        },
      },
    ],
    [{ type: "run-end", payload: { status: "completed", answer: 'Fini ✅ "done"', steps: 1 } }],
  ];
}
