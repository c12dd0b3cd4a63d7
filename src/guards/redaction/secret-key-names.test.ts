import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { secretKeyType } from "./secret-key-names.ts";

const NAMED = {
  password: "password",
  client_secret: "credential",
  apiKey: "credential",
  "x-api-key": "credential",
  Authorization: "credential",
  refresh_token: "credential",
  nextPageToken: null,
  idempotencyKey: null,
  pem: "private_key",
  callId: null,
  step: null,
} as const;

test("classifies a key name the same when it is seen again, after thousands of others, as when first seen", () => {
  for (const [name, type] of Object.entries(NAMED)) assert.equal(secretKeyType(name), type, name);
  fc.assert(
    fc.property(fc.string({ unit: "grapheme-ascii", maxLength: 24 }), (name) => {
      const first = secretKeyType(name);
      assert.equal(secretKeyType(name), first);
    }),
    { numRuns: 10_000 },
  );
  for (const [name, type] of Object.entries(NAMED)) assert.equal(secretKeyType(name), type, name);
});
