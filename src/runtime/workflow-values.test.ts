import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { type Condition, type JsonValue, parseCondition, type Template } from "../spec/index.ts";
import { parseTemplate } from "../spec/workflow-template.ts";
import {
  applyReducer,
  renderTemplate,
  testCondition,
  type WorkflowScope,
  workflowInput,
} from "./workflow-values.ts";

function template(source: string): Template {
  const parsed = parseTemplate(source);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.template;
}

function condition(text: string): Condition {
  const parsed = parseCondition(text, ["state", "input", "item"]);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.condition;
}

const scope: WorkflowScope = {
  state: {
    invoice: { id: "INV-7", total: 1250.5, currency: "EUR", lines: [1, 2] },
    po: { total: "1250.50", status: "open" },
    paid: false,
    dueAt: "2026-12-09T00:00:00Z",
  },
  input: { vendor: "Acme GmbH" },
  item: { sku: "A-1" },
};

describe("workflow templates", () => {
  test("a template that is exactly one reference yields the value itself, objects included", () => {
    assert.deepEqual(renderTemplate(template("${state.invoice}"), scope), scope.state.invoice);
    assert.equal(renderTemplate(template("${state.invoice.total}"), scope), 1250.5);
    assert.equal(renderTemplate(template("${state.nothing}"), scope), null);
  });

  test("other templates yield text, objects as JSON and missing values as nothing", () => {
    assert.equal(
      renderTemplate(template("Invoice ${state.invoice.id} from ${input.vendor} (${item.sku})"), scope),
      "Invoice INV-7 from Acme GmbH (A-1)",
    );
    assert.equal(renderTemplate(template("lines: ${state.invoice.lines}"), scope), "lines: [1,2]");
    assert.equal(renderTemplate(template("[${state.invoice.missing}]"), scope), "[]");
    assert.equal(renderTemplate(template("cost $${not a reference}"), scope), "cost ${not a reference}");
  });

  test("a reference does not read inherited properties or through arrays and text", () => {
    assert.equal(renderTemplate(template("${state.invoice.constructor}"), scope), null);
    assert.equal(renderTemplate(template("${state.invoice.lines.length}"), scope), null);
    assert.equal(renderTemplate(template("${state.invoice.id.length}"), scope), null);
  });
});

describe("workflow branch conditions", () => {
  test("compare numbers as decimals, so a total written as text equals the same number", () => {
    assert.equal(testCondition(condition("state.po.total == 1250.5"), scope), true);
    assert.equal(
      testCondition(condition("state.invoice.total > 1000 && state.po.status == 'open'"), scope),
      true,
    );
    assert.equal(testCondition(condition("state.invoice.total > 10000 || state.paid == true"), scope), false);
  });

  test("compare text and booleans for equality only", () => {
    assert.equal(
      testCondition(condition("state.invoice.currency == 'EUR' && state.paid == false"), scope),
      true,
    );
    assert.equal(testCondition(condition("state.invoice.currency != 'EUR'"), scope), false);
  });

  test("a comparison whose value is missing or of another kind does not hold, whatever its operator", () => {
    for (const text of [
      "state.nothing == 1",
      "state.nothing != 1",
      "state.invoice.id > 3",
      "state.invoice.currency != true",
      "state.paid == 'false'",
    ]) {
      assert.equal(testCondition(condition(text), scope), false, text);
    }
  });
});

describe("workflow reducers", () => {
  test("replace, append, merge, sum, max and min, from an unset field and from a value", () => {
    assert.equal(applyReducer("replace", 1, 2), 2);
    assert.deepEqual(applyReducer("append", undefined, { a: 1 }), [{ a: 1 }]);
    assert.deepEqual(applyReducer("append", [1], [2]), [1, [2]]);
    assert.deepEqual(applyReducer("merge", { a: 1, b: 1 }, { b: 2, c: 3 }), { a: 1, b: 2, c: 3 });
    assert.equal(applyReducer("sum", undefined, 2.5), 2.5);
    assert.equal(applyReducer("sum", 1, 2), 3);
    assert.equal(applyReducer("max", 3, 2), 3);
    assert.equal(applyReducer("min", 3, 2), 2);
    assert.equal(applyReducer("max", undefined, 7), 7);
  });

  test("append, merge, sum, max and min give the same value whatever order parallel writes land in", () => {
    const outputs = fc.array(fc.integer({ min: -1_000, max: 1_000 }), { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(outputs, fc.func(fc.integer()), (values, key) => {
        const shuffled = [...values].sort((left, right) => key(left) - key(right));
        for (const reducer of ["sum", "max", "min"] as const) {
          const once = values.reduce<JsonValue | undefined>(
            (acc, value) => applyReducer(reducer, acc, value),
            undefined,
          );
          const again = shuffled.reduce<JsonValue | undefined>(
            (acc, value) => applyReducer(reducer, acc, value),
            undefined,
          );
          assert.equal(once, again);
        }
        const appended = values.reduce<JsonValue | undefined>(
          (acc, value) => applyReducer("append", acc, value),
          undefined,
        );
        assert.deepEqual([...(appended as number[])].sort(), [...values].sort());
      }),
    );
  });
});

describe("a workflow run's input", () => {
  test("is the JSON value when the text is a JSON object or array, else the text", () => {
    assert.deepEqual(workflowInput('{"vendor":"Acme"}'), { vendor: "Acme" });
    assert.deepEqual(workflowInput(" [1,2]"), [1, 2]);
    assert.equal(workflowInput("Check Acme GmbH"), "Check Acme GmbH");
    assert.equal(workflowInput("{not json"), "{not json");
  });
});
