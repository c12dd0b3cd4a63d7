import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { canonicalJson } from "./hash.ts";
import { plainCanonicalJson } from "./plain-canonical-json.ts";

/** Any UTF-16 code unit, so strings hold NUL, controls and unpaired surrogates as often as anything else. */
const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));
const wildString = fc.oneof(fc.string({ unit: anyCodeUnit }), fc.string({ unit: "binary" }), fc.string());

/** Values an append may be handed: JSON, and what JSON does not have (Dates, undefined, -0, NaN, bigint…). */
const wildValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    wildString,
    fc.double(),
    fc.integer(),
    fc.constantFrom(-0, Number.NaN, Number.POSITIVE_INFINITY, true, false, null, undefined, 10n),
    fc.date({ noInvalidDate: true }),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(wildString, tie("value"), { maxKeys: 5 }),
  ),
})).value;

/** What jsonb can store: no NUL character and no unpaired surrogate, in any string or key. */
function storable(value: unknown): boolean {
  if (typeof value === "string") return !value.includes("\u0000") && value.isWellFormed();
  if (Array.isArray(value)) return value.every(storable);
  if (value !== null && typeof value === "object") {
    return Object.entries(value).every(([key, item]) => storable(key) && storable(item));
  }
  return true;
}

function canonicalOrError(value: unknown): string | Error {
  try {
    return canonicalJson(value);
  } catch (error) {
    return error as Error;
  }
}

test("writes exactly what the RFC 8785 library writes whenever it writes anything, and only storable text", () => {
  fc.assert(
    fc.property(wildValue, (value) => {
      const plain = plainCanonicalJson(value);
      if (plain === null) return;
      assert.equal(plain, canonicalJson(value));
      assert.ok(storable(JSON.parse(plain)), `${plain} holds a string jsonb cannot store`);
    }),
    { numRuns: 5_000 },
  );
});

test("writes every storable JSON value, so the general path is taken only for what needs it", () => {
  fc.assert(
    fc.property(fc.jsonValue({ stringUnit: "binary" }), (value) => {
      fc.pre(storable(value));
      assert.equal(plainCanonicalJson(value), canonicalJson(value));
    }),
    { numRuns: 5_000 },
  );
});

test("gives up on what JSON does not hold as it is, or jsonb cannot store, and the general path decides", () => {
  const cases: unknown[] = [
    { when: new Date(0) },
    [1, undefined],
    // biome-ignore lint/suspicious/noSparseArray: a hole is what is tested
    [1, , 2],
    { n: Number.NaN },
    { n: Number.NEGATIVE_INFINITY },
    { n: 10n },
    { s: Symbol("s") },
    { f: () => 1 },
    "nul \u0000 inside",
    { "key \u0000": 1 },
    "lone \ud800 surrogate",
    { lone: "\udc00" },
    undefined,
  ];
  for (const value of cases) {
    assert.equal(
      plainCanonicalJson(value),
      null,
      `${String(canonicalOrError(value))} should take the general path`,
    );
  }
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  assert.equal(plainCanonicalJson(cyclic), null);
  const deep = JSON.parse(`${'{"a":'.repeat(200_000)}1${"}".repeat(200_000)}`) as unknown;
  assert.equal(plainCanonicalJson(deep), null);
});

test("leaves out undefined fields, writes -0 as 0 and keeps paired surrogates, as the library does", () => {
  const value = { b: undefined, a: -0, "\u{1f600}": "😀 \u2028 \u007f", c: [0.1, 1e21, '"\\\n'] };
  assert.equal(plainCanonicalJson(value), canonicalJson(value));
  assert.equal(plainCanonicalJson(value), '{"a":0,"c":[0.1,1e+21,"\\"\\\\\\n"],"😀":"😀 \u2028 \u007f"}');
});
