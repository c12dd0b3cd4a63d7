import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { detectEntities } from "./detect-entities.ts";
import { ENTITY_TYPES, type EntityClass } from "./entity-types.ts";
import { redactText } from "./redact-text.ts";

const ALL: ReadonlySet<EntityClass> = new Set(["pii", "secrets"]);
const SECRETS: ReadonlySet<EntityClass> = new Set(["secrets"]);

/** One hand-written example per type, in the forms people and programs write them. */
const EXAMPLES: Record<(typeof ENTITY_TYPES)[number], string> = {
  email: "mail dana.whitfield@larkspur-home.com today",
  phone: "ring +44 20 7946 0958 tomorrow",
  us_ssn: "SSN 078-05-1121",
  uk_nino: "NI QQ123456C is invalid but AB123456C is fine",
  uk_nhs_number: "NHS number 943 476 5919",
  de_tax_id: "Steuer-ID 86095742719",
  fr_nir: "NIR 1 84 12 76 451 089 46",
  es_dni: "DNI 12345678Z",
  in_aadhaar: "Aadhaar 2345 6789 0124",
  nl_bsn: "BSN 111222333",
  br_cpf: "CPF 529.982.247-25",
  passport: "Reisepass-Nr. C01X00T47, passport no. 123456789",
  payment_card: "card 4111-1111-1111-1111",
  iban: "IBAN GB82 WEST 1234 5698 7654 32",
  ipv4: "from 81.2.69.142",
  ipv6: "from 2a00:1450:4001:81c::200e",
  mac_address: "adapter 3c:22:fb:9a:10:7e",
  street_address: "ship to 742 Evergreen Terrace, Springfield",
  date_of_birth: "date of birth: 4 July 1976",
  person: "Contact: María José Gómez, maria.gomez@posteo.de",
  aws_access_key_id: "key AKIAZ7VRSQ5TJN2LDA4B",
  aws_secret_access_key: "aws_secret_access_key=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",
  github_token: "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
  gitlab_token: "glpat-xK3vR9mQ2pL7sT4wY8zB",
  slack_token: "xoxb-263594206564-2343594206574-FGqddMF8t08v8N7Oq4i57vs1",
  stripe_key: "sk_live_51HbQ2kLx9QmZt7Yd3Rw8Vn4",
  google_api_key: "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe",
  openai_api_key: "sk-proj-Xy7Qm2Lr9Tz4Vb8Nc1Pk5Hw3Jd6Fs0Ga2Ke8Ru4Yi1Ot5Wn3Ms7",
  anthropic_api_key: `sk-ant-api03-${"aB3dE5fG7hJ9kL2mN4pQ6rS8tU0vW1xY3zA5bC7dE9fG2hJ4kL6mN8pQ0rS2tU4vW6xY8zA1bC3dE5fG7hJ9kL2mN4p"}AA`,
  sendgrid_api_key: "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",
  npm_token: "npm_F8kQ2mZx7Lr4Tp9Vb3Nc6Hw1Jd5Ys0Ga2Ke8",
  jwt: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
  private_key:
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----",
  connection_string: "DATABASE_URL=postgresql://orders:Tr0ub4dor-3@db.larkspur-home.com:5432/orders",
  password: "login with password=Zebra!42xQ",
  credential: "client_secret: 9fK2xQ7mL4pT8vR1zW6yB3nC",
  bearer_token: "Authorization: Bearer 4f9c2e1b7a3d8f6e0c5b9a2d7e4f1c8b",
};

describe("redactText", () => {
  for (const type of ENTITY_TYPES) {
    it(`masks a ${type} with its typed placeholder`, () => {
      const { text, findings } = redactText(EXAMPLES[type], ALL);
      assert.ok(
        findings.some((finding) => finding.type === type),
        `${type} not found in ${JSON.stringify(EXAMPLES[type])}: ${JSON.stringify(findings)}`,
      );
      assert.match(text, new RegExp(`\\[REDACTED:${type}\\]`));
    });
  }

  it("leaves text without sensitive values unchanged and returns no findings", () => {
    const text =
      "Order A1234 shipped on 2024-05-01 for EUR 49.90; see version 2.3.1.0 and commit 3f786850e387.";
    assert.deepEqual(redactText(text, ALL), { text, findings: [] });
  });

  it("masks only the classes asked for", () => {
    const text = "mail jane@acme-corp.io with key AKIAZ7VRSQ5TJN2LDA4B";
    assert.equal(
      redactText(text, SECRETS).text,
      "mail jane@acme-corp.io with key [REDACTED:aws_access_key_id]",
    );
    assert.equal(redactText(text, new Set()).text, text);
  });

  it("masks a connection string whole rather than the address-shaped part inside it", () => {
    const findings = detectEntities("postgres://svc:pa55w0rd!@db.acme-corp.io/app", ALL);
    assert.deepEqual(
      findings.map((finding) => finding.type),
      ["connection_string"],
    );
  });

  it("is idempotent: redacting a redacted text changes nothing", () => {
    for (const example of Object.values(EXAMPLES)) {
      const once = redactText(example, ALL).text;
      assert.equal(redactText(once, ALL).text, once);
    }
  });

  it("keeps placeholders, reserved example domains and AWS documentation keys in clear", () => {
    const text =
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell variable is the placeholder under test
      "password=${DB_PASSWORD} api_key=YOUR_API_KEY owner@example.com AKIAIOSFODNN7EXAMPLE Bearer <token>";
    assert.deepEqual(redactText(text, ALL).findings, []);
  });

  it("stays fast on adversarial input: 100 KB of repeated fragments each in under a second", () => {
    for (const fragment of [
      "1-2 3.4/",
      "api_key_",
      "password=",
      "a@",
      "ab:",
      "eyJaaaaaaaaa.",
      "AB12 ",
      "a-",
      "1 ",
      "Ann Lee, ",
      "Jo-Ann O'",
      "passport AB1234567 ",
      "P<UTO<<",
      "L898902C36UTO",
      "firmware 1.2.3.4 ",
      "2345 6789 ",
    ]) {
      const text = fragment.repeat(Math.ceil(100_000 / fragment.length));
      const started = performance.now();
      redactText(text, ALL);
      const elapsed = performance.now() - started;
      assert.ok(elapsed < 1_000, `${JSON.stringify(fragment)} took ${elapsed.toFixed(0)} ms`);
    }
  });
});
