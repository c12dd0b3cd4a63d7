import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  brazilianCpfValid,
  dutchBsnValid,
  frenchNirValid,
  germanTaxIdValid,
  ibanMod97Valid,
  luhnValid,
  mrzCheckDigit,
  nhsNumberValid,
  passportMrzValid,
  spanishDniValid,
  verhoeffValid,
} from "./check-digits.ts";

// Published examples of each format, and the same numbers with one digit changed.
describe("check digits", () => {
  it("accepts Luhn-valid card numbers and refuses a changed digit", () => {
    assert.ok(luhnValid("4111111111111111"));
    assert.ok(luhnValid("79927398713"));
    assert.ok(!luhnValid("4111111111111112"));
  });

  it("checks IBANs with mod-97", () => {
    assert.ok(ibanMod97Valid("GB82WEST12345698765432"));
    assert.ok(ibanMod97Valid("DE89370400440532013000"));
    assert.ok(!ibanMod97Valid("DE89370400440532013001"));
  });

  it("checks Aadhaar-style Verhoeff digits", () => {
    assert.ok(verhoeffValid("2363"));
    assert.ok(!verhoeffValid("2364"));
  });

  it("checks German Steuer-IDs: check digit and the one-repeated-digit rule", () => {
    assert.ok(germanTaxIdValid("86095742719"));
    assert.ok(!germanTaxIdValid("86095742718"));
    assert.ok(!germanTaxIdValid("12345678903"), "ten distinct digits cannot be a Steuer-ID");
  });

  it("checks French NIR keys, Corsica included", () => {
    assert.ok(frenchNirValid("184127645108946"));
    assert.ok(!frenchNirValid("184127645108947"));
    assert.ok(frenchNirValid("255082A00400194"), "department 2A counts as 19");
    assert.ok(!frenchNirValid("255082B00400194"));
  });

  it("checks Spanish DNI and NIE letters", () => {
    assert.ok(spanishDniValid("12345678Z"));
    assert.ok(spanishDniValid("X1234567L"));
    assert.ok(!spanishDniValid("12345678A"));
  });

  it("checks Dutch BSNs, Brazilian CPFs and NHS numbers", () => {
    assert.ok(dutchBsnValid("111222333"));
    assert.ok(!dutchBsnValid("111222334"));
    assert.ok(brazilianCpfValid("52998224725"));
    assert.ok(!brazilianCpfValid("52998224726"));
    assert.ok(!brazilianCpfValid("11111111111"));
    assert.ok(nhsNumberValid("9434765919"));
    assert.ok(!nhsNumberValid("9434765918"));
  });

  it("checks a passport MRZ's four check digits (ICAO 9303 specimen)", () => {
    assert.equal(mrzCheckDigit("L898902C3"), 6);
    assert.equal(mrzCheckDigit("740812"), 2);
    assert.ok(passportMrzValid("L898902C36UTO7408122F1204159ZE184226B<<<<<10"));
    assert.ok(!passportMrzValid("L898902C36UTO7408122F1204169ZE184226B<<<<<10"));
    assert.ok(!passportMrzValid("L898902C37UTO7408122F1204159ZE184226B<<<<<10"));
  });
});
