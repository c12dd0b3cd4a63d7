import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { createPayloadSealer } from "./payload-sealer.ts";

describe("createPayloadSealer", () => {
  const sealer = createPayloadSealer(randomBytes(32));

  it("opens what it sealed, for the same context only", () => {
    const sealed = sealer.seal('{"password":"Zebra!42xQ"}', "run_1:abc");
    assert.ok(!sealed.ciphertext.includes("Zebra"));
    assert.equal(sealer.open(sealed, "run_1:abc"), '{"password":"Zebra!42xQ"}');
    assert.equal(sealer.open(sealed, "run_2:abc"), null);
  });

  it("refuses an altered ciphertext and another key", () => {
    const sealed = sealer.seal("secret", "c");
    const bytes = Buffer.from(sealed.ciphertext, "base64");
    bytes[0] = bytes[0]! ^ 1;
    assert.equal(sealer.open({ ...sealed, ciphertext: bytes.toString("base64") }, "c"), null);
    const other = createPayloadSealer(randomBytes(32));
    assert.equal(other.open(sealed, "c"), null);
  });

  it("uses a fresh nonce each time", () => {
    assert.notEqual(sealer.seal("same", "c").nonce, sealer.seal("same", "c").nonce);
  });

  it("refuses keys that are not 32 bytes", () => {
    assert.throws(() => createPayloadSealer(randomBytes(16)), /32 bytes/);
  });
});
