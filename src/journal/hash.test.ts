import assert from "node:assert/strict";
import { test } from "node:test";
import { canonicalJson, hashPayload } from "./hash.ts";

test("canonical JSON sorts keys so equal payloads hash equally", () => {
  assert.equal(canonicalJson({ b: 1, a: [true, null] }), '{"a":[true,null],"b":1}');
  assert.equal(hashPayload({ a: 1, b: 2 }), hashPayload({ b: 2, a: 1 }));
});
