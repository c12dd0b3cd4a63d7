import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { isJsonMediaType, jsonProblem, MAX_JSON_DEPTH, stringProblem } from "./input-rules.ts";

test("refuses strings with a NUL or half a surrogate pair and takes any other text", () => {
  assert.match(stringProblem("a\u0000b") ?? "", /NUL/);
  for (const half of ["\ud800", "x\udfff", "\ud83d!"]) assert.match(stringProblem(half) ?? "", /surrogate/);
  for (const fine of ["", "plain", "😀 paired", "\u202e", "é\t\n"])
    assert.equal(stringProblem(fine), null, fine);
});

test("names the first bad string, key or number in a body by its dotted path", () => {
  assert.deepEqual(jsonProblem({ a: [1, { b: "x\u0000" }] }), {
    path: "a.1.b",
    message: "must not contain a NUL character",
  });
  assert.deepEqual(jsonProblem({ ok: 1, "k\u0000": 2 }), {
    path: "k\\u0000",
    message: "its key must not contain a NUL character",
  });
  assert.equal(jsonProblem(JSON.parse('{"n": 1e400}'))?.path, "n");
  assert.equal(jsonProblem("\ud800")?.path, "(body)");
  assert.equal(jsonProblem({ first: "\u0000", second: "\u0000" })?.path, "first", "in document order");
});

test("takes JSON nested exactly to the limit and refuses one level more", () => {
  const nested = (depth: number) => JSON.parse(`${"[".repeat(depth)}${"]".repeat(depth)}`) as unknown;
  assert.equal(jsonProblem(nested(MAX_JSON_DEPTH)), null);
  assert.match(jsonProblem(nested(MAX_JSON_DEPTH + 1))?.message ?? "", /deeper than 64/);
});

test("walks a body nested a million levels without overflowing the stack", () => {
  const deep = JSON.parse(`${'{"a":'.repeat(1_000_000)}1${"}".repeat(1_000_000)}`) as unknown;
  assert.match(jsonProblem(deep)?.message ?? "", /deeper than/);
});

test("finds no problem in any well-formed JSON value within the depth limit (property)", () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 10 }), (value) => {
      const clean = JSON.parse(JSON.stringify(value).replaceAll("\\u0000", "")) as unknown;
      assert.equal(jsonProblem(clean), null);
    }),
    { numRuns: 500 },
  );
});

test("takes exactly the application/json media type, with UTF-8 as the only charset", () => {
  for (const type of [
    "application/json",
    "Application/JSON",
    "application/json; charset=utf-8",
    'application/json;charset="UTF-8"',
  ])
    assert.ok(isJsonMediaType(type), type);
  for (const type of [
    undefined,
    "",
    "text/plain",
    "text/plain; application/json",
    "application/json-patch+json",
    "application/jsonx",
    "application/json; charset=utf-16",
    "application/json; boundary=x",
  ])
    assert.ok(!isJsonMediaType(type), String(type));
});
