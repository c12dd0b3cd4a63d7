import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import {
  ERASED,
  ERASED_TEXT,
  erasePersonalFields,
  openPersonalFields,
  sealedKeyIds,
  sealPersonalFields,
} from "./seal-personal-fields.ts";

const subjectKey = { keyId: "sk_test", key: randomBytes(32) };
const keys = new Map([[subjectKey.keyId, subjectKey.key]]);

const decision = {
  step: 2,
  provider: "scripted",
  model: "test",
  outcome: "ok",
  durationMs: 1,
  decision: {
    kind: "tool-calls",
    text: "Looking up Ada's order.",
    calls: [
      { callId: "c1", tool: "lookup", arguments: { name: "Ada Lovelace" } },
      { callId: "c2", tool: "notify", arguments: { email: "ada@example.org" } },
    ],
  },
};

test("seals only the personal fields, keeps the structure plain, and opens them back to the same values", () => {
  const sealed = sealPersonalFields("model-call-end", decision, subjectKey) as typeof decision;
  const text = JSON.stringify(sealed);
  assert.doesNotMatch(text, /Ada|ada@/);
  assert.deepEqual(
    [sealed.step, sealed.decision.kind, sealed.decision.calls.map((call) => [call.callId, call.tool])],
    [
      2,
      "tool-calls",
      [
        ["c1", "lookup"],
        ["c2", "notify"],
      ],
    ],
  );
  const ids = new Set<string>();
  sealedKeyIds("model-call-end", sealed, ids);
  assert.deepEqual([...ids], ["sk_test"]);
  assert.deepEqual(openPersonalFields("model-call-end", sealed, keys), decision);
  // Each field has its own IV: sealing twice never gives the same text.
  assert.notEqual(JSON.stringify(sealPersonalFields("model-call-end", decision, subjectKey)), text);
});

test("a payload with no personal fields, or of a type that has none, is returned as the same object", () => {
  const start = { step: 1, node: "model" };
  assert.equal(sealPersonalFields("step-start", start, subjectKey), start);
  const end = { status: "completed", steps: 1 };
  assert.equal(sealPersonalFields("run-end", end, subjectKey), end);
  assert.equal(openPersonalFields("run-end", end, new Map()), end);
});

test("without its key, or with a text altered under it, a sealed string reads as [erased] and anything else as erased", () => {
  const sealed = sealPersonalFields(
    "run-end",
    { status: "completed", steps: 1, answer: "Hi Ada", output: { a: 1 } },
    subjectKey,
  );
  assert.deepEqual(openPersonalFields("run-end", sealed, new Map()), {
    status: "completed",
    steps: 1,
    answer: ERASED_TEXT,
    output: ERASED,
  });
  const tampered = structuredClone(sealed) as { answer: { $sealed: string } };
  const original = tampered.answer.$sealed;
  tampered.answer.$sealed = `${original.slice(0, -4)}${original.slice(-4) === "AAAA" ? "BBBB" : "AAAA"}`;
  assert.equal((openPersonalFields("run-end", tampered, keys) as { answer: unknown }).answer, ERASED_TEXT);
  assert.equal(
    (openPersonalFields("run-end", sealed, new Map([["sk_test", randomBytes(32)]])) as { answer: unknown })
      .answer,
    ERASED_TEXT,
  );
});

test("a run whose subject was erased while it went on stores its personal fields as erased", () => {
  assert.deepEqual(
    erasePersonalFields("tool-call-end", {
      step: 1,
      callId: "c1",
      tool: "t",
      outcome: "ok",
      result: { x: 1 },
      durationMs: 1,
    }),
    {
      step: 1,
      callId: "c1",
      tool: "t",
      outcome: "ok",
      result: ERASED,
      durationMs: 1,
    },
  );
});
