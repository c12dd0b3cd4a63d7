import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { detectEntities } from "./detect-entities.ts";
import type { EntityClass } from "./entity-types.ts";

const PII: ReadonlySet<EntityClass> = new Set(["pii"]);
const found = (text: string) =>
  detectEntities(text, PII).map((finding) => [finding.type, text.slice(finding.start, finding.end)]);

describe("passport numbers", () => {
  it("finds each country's format next to a passport word in that country's language", () => {
    for (const [text, value] of [
      ["US passport number: 561234987", "561234987"],
      ["UK passport no. 925076473", "925076473"],
      ["Canadian passport AB123456", "AB123456"],
      ["Reisepass-Nr.: C01X00T47", "C01X00T47"],
      ["N° de passeport : 09AA12345", "09AA12345"],
      ["Indian passport J8369854", "J8369854"],
      ["护照号码：E12345678", "E12345678"],
      ["旅券番号 TK1234567", "TK1234567"],
      ["Australian passport PA1234567", "PA1234567"],
      ["Número de pasaporte: PAA123456", "PAA123456"],
      ["Passaporto n. YA1234567", "YA1234567"],
      ["paspoortnummer NW92BD8L1", "NW92BD8L1"],
      ["Passaporte nº FZ123456", "FZ123456"],
      ["pasaporte mexicano G12345678", "G12345678"],
      ["загранпаспорт 72 1234567", "72 1234567"],
      ["여권번호 M12345678", "M12345678"],
      ["X1234567 (passport)", "X1234567"],
      ["Swedish passport: 12345678", "12345678"],
      ['{"passportNumber": "E1234567A"}', "E1234567A"],
    ]) {
      assert.deepEqual(found(text!), [["passport", value]], text);
    }
  });

  it("leaves the same shapes without a passport word, after another identifier's label, or as a boarding pass", () => {
    for (const text of [
      "Order AB1234567 shipped",
      "Part number 561234987 in stock",
      "booking ref PAA123456 confirmed",
      "passport photo attached; order no. TK1234567",
      "boarding pass 123456789",
      "password A12345678",
      "passport renewed in 202406",
      "Passport number: pending",
    ]) {
      assert.deepEqual(found(text), [], text);
    }
  });

  it("finds a machine-readable zone by its check digits, both lines, without any context", () => {
    const mrz = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10";
    assert.deepEqual(found(`scan:\n${mrz}\nend`), [["passport", mrz]]);
    assert.deepEqual(found("L898902C36UTO7408122F1204159ZE184226B<<<<<10"), [
      ["passport", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"],
    ]);
    assert.deepEqual(found("L898902C36UTO7408122F1204159ZE184226B<<<<<11"), []);
  });
});
