import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EntityClass } from "./entity-types.ts";
import { redactValue } from "./redact-value.ts";
import { secretKeyType } from "./secret-key-names.ts";

const ALL: ReadonlySet<EntityClass> = new Set(["pii", "secrets"]);
const SECRETS: ReadonlySet<EntityClass> = new Set(["secrets"]);

describe("redactValue", () => {
  it("masks values inside objects and arrays, keeps keys, and reports JSON Pointer paths", () => {
    const input = {
      customer: { email: "omar.haddad@posteo.de", notes: ["call +49 30 12345678", "prefers mail"] },
      amount: 42,
    };
    const { value, findings } = redactValue(input, ALL);
    assert.deepEqual(value, {
      customer: { email: "[REDACTED:email]", notes: ["call [REDACTED:phone]", "prefers mail"] },
      amount: 42,
    });
    assert.deepEqual(findings, [
      { path: "/customer/email", type: "email", class: "pii" },
      { path: "/customer/notes/0", type: "phone", class: "pii" },
    ]);
    assert.equal(input.customer.email, "omar.haddad@posteo.de", "the input is not modified");
  });

  it("masks the whole value of keys named like credentials, whatever the value looks like", () => {
    const { value } = redactValue(
      {
        password: "hunter2",
        apiKey: "abc",
        "x-api-key": 12345,
        headers: { Authorization: "Basic Zm9vOmJhcg==" },
      },
      SECRETS,
    );
    assert.deepEqual(value, {
      password: "[REDACTED:password]",
      apiKey: "[REDACTED:credential]",
      "x-api-key": "[REDACTED:credential]",
      headers: { Authorization: "[REDACTED:credential]" },
    });
  });

  it("leaves credential-named keys alone when secrets are not asked for", () => {
    const input = { password: "hunter2" };
    assert.deepEqual(redactValue(input, new Set(["pii"])).value, input);
  });

  it("scans long integers, where card numbers sometimes arrive as JSON numbers", () => {
    assert.deepEqual(redactValue({ card: 4111111111111111, quantity: 3 }, ALL).value, {
      card: "[REDACTED:payment_card]",
      quantity: 3,
    });
  });

  it("returns the very same value when nothing is found", () => {
    const input = { order: "A1234", items: [{ sku: "X-1", quantity: 2 }] };
    const result = redactValue(input, ALL);
    assert.equal(result.value, input);
    assert.deepEqual(result.findings, []);
  });
});

describe("secretKeyType", () => {
  it("names credential keys in any case style and leaves look-alikes", () => {
    for (const key of [
      "password",
      "db_password",
      "PASSWORD",
      "client_secret",
      "apiKey",
      "API_KEY",
      "x-api-key",
    ]) {
      assert.notEqual(secretKeyType(key), null, key);
    }
    for (const key of ["accessToken", "refresh_token", "Authorization", "private_key", "secretKey"]) {
      assert.notEqual(secretKeyType(key), null, key);
    }
    for (const key of [
      "inputTokens",
      "maxTokens",
      "idempotencyKey",
      "nextPageToken",
      "sortKey",
      "passwordHint2",
      "key",
    ]) {
      assert.equal(secretKeyType(key), null, key);
    }
  });

  it("masks a name-keyed value as a person when its object also holds an email or phone, and only then", () => {
    const { value } = redactValue(
      {
        customer: { first_name: "María", last_name: "Gómez", email: "maria.g@posteo.de", tier: "Gold" },
        team: { name: "Customer Service", email: "support@acme-corp.io" },
        author: { name: "Sofia Rossi", note: "wrote the release notes" },
        items: [{ name: "Linen Duvet", sku: "LK-1" }],
      },
      new Set(["pii"]),
    );
    assert.deepEqual(value, {
      customer: {
        first_name: "[REDACTED:person]",
        last_name: "[REDACTED:person]",
        email: "[REDACTED:email]",
        tier: "Gold",
      },
      team: { name: "Customer Service", email: "[REDACTED:email]" },
      author: { name: "Sofia Rossi", note: "wrote the release notes" },
      items: [{ name: "Linen Duvet", sku: "LK-1" }],
    });
  });
});
