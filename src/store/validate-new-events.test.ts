import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import fc from "fast-check";
import { type FieldIssue, KeelError } from "../errors/keel-error.ts";
import type { JournalEvent, NewEvent } from "../journal/events.ts";
import { parseNewEvent } from "../journal/events.ts";
import { canonicalJson, hashCanonicalJson, hashEvent, hashPayload } from "../journal/hash.ts";
import { verifyChain } from "../journal/verify-chain.ts";
import { FIXTURE_RUN_ID, fixtureAppends, fixtureRunStart } from "./__fixtures__/journal-written-before.ts";
import { openStore } from "./open-store.ts";
import { validateNewEvents } from "./validate-new-events.ts";

const writtenBefore = JSON.parse(
  readFileSync(new URL("./__fixtures__/journal-written-before.json", import.meta.url), "utf8"),
) as JournalEvent[];

/**
 * What an append did before each payload was canonicalised once: validate, canonicalise, parse back, look for
 * strings jsonb cannot store, and then (in the commit) canonicalise the parsed payload again to store and hash.
 */
function appendAsBefore(event: { type: string; payload: unknown }): { payload: unknown; stored: string } {
  let json: string;
  let parsed: NewEvent;
  try {
    parsed = parseNewEvent(event);
    json = canonicalJson(parsed.payload);
  } catch (error) {
    throw new KeelError("invalid_request", `event 0 (${event.type}) is not valid`, { cause: error });
  }
  const payload: unknown = JSON.parse(json);
  if (!storable(payload)) {
    throw new KeelError("invalid_request", `event 0 (${event.type}) has a string jsonb cannot store`);
  }
  return { payload, stored: canonicalJson(payload) };
}

function storable(value: unknown): boolean {
  if (typeof value === "string") return !value.includes("\u0000") && value.isWellFormed();
  if (Array.isArray(value)) return value.every(storable);
  if (value !== null && typeof value === "object") {
    return Object.entries(value).every(([key, item]) => storable(key) && storable(item));
  }
  return true;
}

function outcome(work: () => { payload: unknown; stored: string }) {
  try {
    return { ok: true as const, ...work() };
  } catch (error) {
    assert.ok(error instanceof KeelError, `threw ${String(error)}`);
    return { ok: false as const, code: error.code, message: error.message };
  }
}

const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));
const wildString = fc.oneof(fc.string({ unit: anyCodeUnit }), fc.string({ unit: "binary" }), fc.string());
const wildValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    wildString,
    fc.double(),
    fc.integer(),
    fc.constantFrom(-0, Number.NaN, Number.POSITIVE_INFINITY, true, false, null, undefined),
    fc.date({ noInvalidDate: true }),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(wildString, tie("value"), { maxKeys: 5 }),
  ),
})).value;

test("stores, hashes and returns exactly what appends did before canonicalising once, or refuses alike", () => {
  fc.assert(
    fc.property(wildValue, wildString, (result, tool) => {
      const event = {
        type: "tool-call-end",
        payload: { step: 1, callId: "call_1", tool, outcome: "ok", result, durationMs: 1 },
      };
      const before = outcome(() => appendAsBefore(event));
      const now = outcome(() => {
        const [validated] = validateNewEvents([event]);
        return { payload: validated!.payload, stored: validated!.payloadJson };
      });
      assert.equal(now.ok, before.ok);
      if (now.ok && before.ok) {
        assert.equal(now.stored, before.stored);
        assert.equal(hashCanonicalJson(now.stored), hashPayload(before.payload));
        assert.deepEqual(now.payload, before.payload);
      } else if (!now.ok && !before.ok) {
        assert.equal(now.code, before.code);
        assert.equal(now.message, before.message);
      }
    }),
    { numRuns: 3_000 },
  );
});

test("names the field that holds a string jsonb cannot store, on the path the plain writer gives up on", () => {
  const issues = (() => {
    try {
      validateNewEvents([
        { type: "step-start", payload: { step: 1, node: "model" } },
        {
          type: "tool-call-end",
          payload: {
            step: 1,
            callId: "c",
            tool: "t",
            outcome: "ok",
            result: { a: ["x\u0000"] },
            durationMs: 1,
          },
        },
      ]);
    } catch (error) {
      return error instanceof KeelError ? error.issues : undefined;
    }
    return undefined;
  })() as FieldIssue[] | undefined;
  assert.deepEqual(issues, [
    { path: "events.1.payload.result.a.0", message: "contains a NUL character or an unpaired surrogate" },
  ]);
});

test("the interpreter's typed events are stored and hashed as any others, without the schema parse", () => {
  fc.assert(
    fc.property(wildValue, wildString, (result, tool) => {
      const event = {
        type: "tool-call-end",
        payload: { step: 1, callId: "call_1", tool, outcome: "ok", result, durationMs: 1 },
      };
      const stored = (options: { typed?: boolean; checkTyped?: boolean }) => () => {
        const [validated] = validateNewEvents([event], options);
        return { payload: validated!.payload, stored: validated!.payloadJson };
      };
      const parsed = outcome(stored({}));
      const typed = outcome(stored({ typed: true, checkTyped: false }));
      // Refused alike (what jsonb cannot store, what canonical JSON cannot write), or stored as the same text.
      assert.equal(typed.ok, parsed.ok);
      if (typed.ok && parsed.ok) assert.equal(typed.stored, parsed.stored);
    }),
    { numRuns: 1_000 },
  );
  const payload = { step: 1, node: "model" };
  const [typed] = validateNewEvents([{ type: "step-start", payload }], { typed: true, checkTyped: false });
  assert.equal(
    typed!.payload,
    payload,
    "the caller's own payload comes back: nothing reads it but the caller",
  );
  assert.equal(typed!.payloadJson, '{"node":"model","step":1}');
});

test("a typed event of no known type is refused; under KEEL_CHECK_EVENTS a typed event off its schema is too", () => {
  assert.throws(
    () => validateNewEvents([{ type: "step-begin", payload: {} }], { typed: true, checkTyped: false }),
    (error) =>
      error instanceof KeelError &&
      /unknown journal event type "step-begin"/.test(error.issues?.[0]?.message ?? ""),
  );
  const offSchema = { type: "step-start", payload: { step: 1, node: "model", extra: true } };
  assert.doesNotThrow(() => validateNewEvents([offSchema], { typed: true, checkTyped: false }));
  assert.throws(
    () => validateNewEvents([offSchema], { typed: true, checkTyped: true }),
    (error) => error instanceof KeelError && error.code === "invalid_request",
  );
  // The test runner preloads test/support/check-typed-events.ts into every test process, so every event the
  // interpreter writes in the suite is parsed.
  if (process.env.KEEL_CHECK_EVENTS === "1") {
    assert.throws(() => validateNewEvents([offSchema], { typed: true }), KeelError);
  }
});

test("a journal written before appends canonicalised once still verifies, link by link", () => {
  assert.equal(writtenBefore.length, 1 + fixtureAppends().flat().length);
  assert.deepEqual(verifyChain(writtenBefore), {
    ok: true,
    events: writtenBefore.length,
    head: writtenBefore.at(-1)!.hash,
  });
});

test("today's append gives the events of a journal written before the same payload hashes and links", () => {
  const sent = [{ type: "run-start", payload: fixtureRunStart() }, ...fixtureAppends().flat()];
  sent.forEach((event, index) => {
    const before = writtenBefore[index]!;
    const [validated] = validateNewEvents([event]);
    assert.equal(
      hashCanonicalJson(validated!.payloadJson),
      before.payloadHash,
      `${before.type} payload hash`,
    );
    assert.deepEqual(validated!.payload, before.payload);
    const link = hashEvent({
      runId: before.runId,
      seq: before.seq,
      type: validated!.type,
      at: before.at,
      payloadHash: hashCanonicalJson(validated!.payloadJson),
      prevHash: before.prevHash,
    });
    assert.equal(link, before.hash, `${before.type} link hash`);
  });
});

test("a store writing the fixture's run today stores the payload hashes a store wrote before, and it verifies", async () => {
  // A migrated in-memory PGlite (from the run's template when there is one, not initdb).
  const store = await openStore({});
  try {
    await store.createRun({ runId: FIXTURE_RUN_ID, start: fixtureRunStart() });
    const lease = await store.acquireLease({ runId: FIXTURE_RUN_ID, owner: "fixture", ttlMs: 60_000 });
    for (const events of fixtureAppends()) await store.append({ lease: lease!, events });
    const journal = await store.readEvents({ runId: FIXTURE_RUN_ID });
    assert.deepEqual(
      journal.map((event) => event.payloadHash),
      writtenBefore.map((event) => event.payloadHash),
    );
    assert.deepEqual(
      journal.map((event) => event.payload),
      writtenBefore.map((event) => event.payload),
    );
    assert.equal(verifyChain(journal).ok, true);
  } finally {
    await store.close();
  }
});
