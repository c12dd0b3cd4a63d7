import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { detectEntities } from "./detect-entities.ts";
import type { EntityClass } from "./entity-types.ts";

const PII: ReadonlySet<EntityClass> = new Set(["pii"]);
const types = (text: string) => detectEntities(text, PII).map((finding) => finding.type);

// 2345 6789 0124 passes Verhoeff, as one random 12-digit code in ten does.
describe("product codes and version strings are not Aadhaar numbers or addresses", () => {
  it("reads a Verhoeff-valid code as an Aadhaar only next to its label or grouped as the card prints it", () => {
    assert.deepEqual(types("Aadhaar 2345-6789-0124"), ["in_aadhaar"]);
    assert.deepEqual(types("UIDAI no. 234567890124"), ["in_aadhaar"]);
    assert.deepEqual(types("my number is 2345 6789 0124"), ["in_aadhaar"]);
    assert.deepEqual(types("SKU 2345-6789-0124"), []);
    assert.deepEqual(types("SKU 2345 6789 0124 back in stock"), []);
    assert.deepEqual(types("Part no. 2345 6789 0124 fits"), []);
    assert.deepEqual(types("2345 6789 0124 (SKU)"), []);
    assert.deepEqual(types("Replacement cartridge 2345-6789-0124"), []);
  });

  it("reads a dotted quad after or before a version word as a version, unless an address word is right before it", () => {
    for (const text of [
      "v1.2.3.4",
      "firmware 10.0.0.12",
      "version 4.3.2.1",
      "Firmware: 10.0.0.12 (latest)",
      "updated the driver to 2.10.3.4",
      "10.0.0.12 build is out",
    ]) {
      assert.deepEqual(types(text), [], text);
    }
    assert.deepEqual(types("login from 81.2.69.142"), ["ipv4"]);
    assert.deepEqual(types("firmware update failed on host 10.0.0.12"), ["ipv4"]);
  });

  it("leaves documentation domains and address ranges in clear by design", () => {
    for (const text of [
      "write to jane@example.com or ops@mail.test",
      "server 192.0.2.10, backup 198.51.100.7, proxy 203.0.113.254",
      "peer 2001:db8::1 connected",
    ]) {
      assert.deepEqual(types(text), [], text);
    }
  });
});
