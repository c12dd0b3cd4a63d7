import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseTemplate } from "./workflow-template.ts";

describe("parseTemplate", () => {
  test("splits text and references to state, input and the map item", () => {
    assert.deepEqual(parseTemplate("Invoice ${state.invoice.id} for ${ input.customer }: ${item}"), {
      ok: true,
      template: {
        source: "Invoice ${state.invoice.id} for ${ input.customer }: ${item}",
        parts: [
          { kind: "text", text: "Invoice " },
          { kind: "reference", reference: { root: "state", path: ["invoice", "id"] } },
          { kind: "text", text: " for " },
          { kind: "reference", reference: { root: "input", path: ["customer"] } },
          { kind: "text", text: ": " },
          { kind: "reference", reference: { root: "item", path: [] } },
        ],
      },
    });
  });

  test("writes $${ as a literal ${ and keeps text without references as one part", () => {
    assert.deepEqual(parseTemplate("costs $${price} in $"), {
      ok: true,
      template: { source: "costs $${price} in $", parts: [{ kind: "text", text: "costs ${price} in $" }] },
    });
  });

  test("reports where a template goes wrong", () => {
    assert.deepEqual(parseTemplate("a ${state.x"), {
      ok: false,
      message: 'a "${" is never closed with "}"',
      column: 3,
    });
    assert.deepEqual(parseTemplate("a ${total}"), {
      ok: false,
      message:
        'expected a reference starting with state, input or item, such as state.invoice.id, but found "total"',
      column: 5,
    });
    assert.deepEqual(parseTemplate("${state}"), {
      ok: false,
      message: "name a state field, such as state.invoice",
      column: 3,
    });
    assert.deepEqual(parseTemplate("${state.a.1}"), {
      ok: false,
      message: '"1" in "state.a.1" is not a field name',
      column: 3,
    });
  });
});
