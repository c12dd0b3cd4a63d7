import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseCondition } from "./condition.ts";
import { parseToolCondition } from "./tool-condition.ts";

describe("parseToolCondition", () => {
  test("parses a numeric comparison of an argument", () => {
    assert.deepEqual(parseToolCondition("input.amount > 100"), {
      ok: true,
      condition: { kind: "compare", path: ["amount"], op: ">", value: 100 },
    });
  });

  test("parses nested paths, text, booleans, and && binding tighter than ||", () => {
    const parsed = parseToolCondition(
      "input.customer.country == 'FR' || input.amount >= 50.5 && input.express == true",
    );
    assert.deepEqual(parsed, {
      ok: true,
      condition: {
        kind: "or",
        items: [
          { kind: "compare", path: ["customer", "country"], op: "==", value: "FR" },
          {
            kind: "and",
            items: [
              { kind: "compare", path: ["amount"], op: ">=", value: 50.5 },
              { kind: "compare", path: ["express"], op: "==", value: true },
            ],
          },
        ],
      },
    });
  });

  test("accepts the words and/or and parentheses", () => {
    const parsed = parseToolCondition('(input.a < 1 or input.b != "x") and input.c <= -2');
    assert.equal(parsed.ok, true);
    assert.equal(parsed.ok && parsed.condition.kind, "and");
  });

  test("reports where a condition goes wrong", () => {
    assert.deepEqual(parseToolCondition("input.amount >> 5"), {
      ok: false,
      message: "expected a number, 'text', true or false but found \">\"",
      column: 15,
    });
    assert.deepEqual(parseToolCondition("amount > 5"), {
      ok: false,
      message: 'expected a path such as input.amount but found "amount"',
      column: 1,
    });
    assert.deepEqual(parseToolCondition("input.amount > 5 input.b == 1"), {
      ok: false,
      message: 'unexpected "input"; join comparisons with && or ||',
      column: 18,
    });
    assert.deepEqual(parseToolCondition("input.a > 'x'"), {
      ok: false,
      message: "> compares numbers; use == or != for text and true/false",
      column: 9,
    });
    assert.deepEqual(parseToolCondition("input.a == 1 $"), {
      ok: false,
      message: 'unexpected character "$"',
      column: 14,
    });
    assert.equal(parseToolCondition("(input.a == 1").ok, false);
    assert.equal(parseToolCondition("input").ok, false);
    assert.equal(parseToolCondition("").ok, false);
  });

  test("is the shared condition language with input as its only root", () => {
    assert.deepEqual(parseToolCondition("state.amount > 1"), {
      ok: false,
      message: 'expected a path such as input.amount but found "state"',
      column: 1,
    });
  });
});

describe("parseCondition", () => {
  test("reads the roots a workflow gives it, keeping each comparison's root", () => {
    assert.deepEqual(parseCondition("state.total > 10000 || item.sku == 'A1'", ["state", "input", "item"]), {
      ok: true,
      condition: {
        kind: "or",
        items: [
          { kind: "compare", root: "state", path: ["total"], op: ">", value: 10000 },
          { kind: "compare", root: "item", path: ["sku"], op: "==", value: "A1" },
        ],
      },
    });
    assert.deepEqual(parseCondition("output.total > 1", ["state", "input", "item"]), {
      ok: false,
      message: 'expected a path starting with state, input or item but found "output"',
      column: 1,
    });
    assert.deepEqual(parseCondition("state > 1", ["state", "input", "item"]), {
      ok: false,
      message: 'expected "." and a field name after state',
      column: 7,
    });
  });
});
