import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { detectEntities } from "./detect-entities.ts";
import type { EntityClass } from "./entity-types.ts";

const PII: ReadonlySet<EntityClass> = new Set(["pii"]);
const people = (text: string) =>
  detectEntities(text, PII)
    .filter((finding) => finding.type === "person")
    .map((finding) => text.slice(finding.start, finding.end));

describe("person names next to contact details", () => {
  it("finds a name beside an email, a phone or an address, in several languages and scripts", () => {
    for (const [text, name] of [
      ["Contact: Maria Gómez, maria.g@posteo.de", "Maria Gómez"],
      ["Ask John O'Neil at +44 20 7946 0958", "John O'Neil"],
      ["Jean-Luc de la Fontaine (jl.fontaine@yahoo.fr)", "Jean-Luc de la Fontaine"],
      ["Ansprechpartnerin: Dr. Jürgen Müller, Tel. 030 12345678", "Jürgen Müller"],
      ["Напишите Ивану Петрову: ivan.petrov@mail.ru", "Ивану Петрову"],
      ["nguyen.linh@gmail.com (Nguyen Thi Linh)", "Nguyen Thi Linh"],
      ["Send it to Zoë Van der Berg, 12 Baker Street, London", "Zoë Van der Berg"],
      ['{"name": "Sofia", "phone": "+44 7700 900123"}', "Sofia"],
      ["Dear Mr D'Angelo, call +39 06 1234 5678", "D'Angelo"],
      ["Ask Min-jun Park at +82 2 1234 5678", "Min-jun Park"],
    ]) {
      assert.deepEqual(people(text!), [name], text);
    }
  });

  it("finds the name in a signature after a sign-off", () => {
    assert.deepEqual(people("Best regards,\nLukas Schmidt\nHead of Sales\n+49 30 1234567"), [
      "Lukas Schmidt",
    ]);
    assert.deepEqual(people("Cordialement,\nHélène Dubois"), ["Hélène Dubois"]);
    assert.deepEqual(people("Thanks, Maria"), ["Maria"]);
    assert.deepEqual(people("Lukas Schmidt\nAcme GmbH\nlukas@acme-corp.io"), ["Lukas Schmidt"]);
  });

  it("leaves teams, companies, places and labels beside contact details, and names with no contact at all", () => {
    for (const text of [
      "Contact: Customer Service, support@acme-corp.io",
      "Call Acme Support at +1 415 555 0199",
      "New York office: +1 212 555 0100",
      "Steuerliche Identifikationsnummer 17 859 084 363",
      "Maria Gómez wrote the release notes.",
      "Thanks, Apple Store",
      "Contact: Blue Bottle, support@bluebottle.io",
      "Blue Bottle\nsupport@bluebottle.io",
    ]) {
      assert.deepEqual(people(text), [], text);
    }
  });
});
