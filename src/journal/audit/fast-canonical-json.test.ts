import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { isKeelError } from "../../errors/keel-error.ts";
import { canonicalJson } from "../hash.ts";
import { fastCanonicalJson } from "./fast-canonical-json.ts";

test("writes exactly what the RFC 8785 library writes, for any JSON value", () => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      assert.equal(fastCanonicalJson(value), canonicalJson(value));
    }),
    { numRuns: 5_000 },
  );
});

test("follows RFC 8785 on its own examples: key order by UTF-16 units, ECMAScript numbers, minimal escapes", () => {
  assert.equal(
    fastCanonicalJson({
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew",
      "1": "One",
      "\u{1f600}": "Emoji",
      "\u0080": "Control",
      "\u00f6": "Latin",
    }),
    '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"Latin","€":"Euro Sign","\u{1f600}":"Emoji","\ufb33":"Hebrew"}',
  );
  assert.equal(
    fastCanonicalJson([1e21, 1e-7, -0, 0.000001, 333333333.3333333, 5e-324]),
    "[1e+21,1e-7,0,0.000001,333333333.3333333,5e-324]",
  );
  assert.equal(fastCanonicalJson({ b: undefined, a: [undefined] }), '{"a":[null]}');
});

test("refuses what JSON cannot carry", () => {
  assert.throws(() => fastCanonicalJson(Number.NaN), /not a JSON number/);
  assert.throws(() => fastCanonicalJson({ x: Number.POSITIVE_INFINITY }), /not a JSON number/);
  assert.throws(() => fastCanonicalJson("\ud800"), /lone surrogate/);
  assert.throws(() => fastCanonicalJson(10n), /bigint is not a JSON value/);
});

test("refuses a value nested too deep for the stack with a KeelError rather than a stack overflow", () => {
  const deep = JSON.parse(`${'{"a":'.repeat(200_000)}1${"}".repeat(200_000)}`) as unknown;
  assert.throws(
    () => fastCanonicalJson(deep),
    (error: unknown) => isKeelError(error, "invalid_request"),
  );
});
