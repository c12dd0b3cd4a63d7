import assert from "node:assert/strict";
import { test } from "node:test";
import { isKeelError } from "../errors/keel-error.ts";
import { canonicalJson, hashPayload } from "./hash.ts";

test("canonical JSON sorts keys so equal payloads hash equally", () => {
  assert.equal(canonicalJson({ b: 1, a: [true, null] }), '{"a":[true,null],"b":1}');
  assert.equal(hashPayload({ a: 1, b: 2 }), hashPayload({ b: 2, a: 1 }));
});

test("refuses a payload nested too deep for the stack with a KeelError, and still hashes the next one", () => {
  const deep = JSON.parse(`${"[".repeat(200_000)}${"]".repeat(200_000)}`) as unknown;
  for (const write of [() => canonicalJson(deep), () => hashPayload({ arguments: deep })]) {
    assert.throws(write, (error: unknown) => isKeelError(error, "invalid_request"));
  }
  assert.equal(canonicalJson({ ok: [[[1]]] }), '{"ok":[[[1]]]}');
});
