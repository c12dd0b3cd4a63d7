import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createPriceTable, estimateCallCeiling, priceCall } from "./price-table.ts";
import shipped from "./prices/price-table-2026-11.json" with { type: "json" };

describe("the price table", () => {
  test("cites a source page and a check date for every price it ships", () => {
    for (const entry of shipped.models) {
      assert.match(entry.source, /^https:\/\//, `${entry.provider}/${entry.model}`);
      assert.match(entry.checkedAt, /^\d{4}-\d{2}/);
    }
  });

  test("stamps its version on every cost", () => {
    const table = createPriceTable();
    const cost = priceCall({
      table,
      provider: "openai",
      model: "gpt-4o-2024-08-06",
      usage: { inputTokens: 1, outputTokens: 1 },
    });
    assert.equal(cost.priceTableVersion, "2026-11");
    assert.equal(cost.source, "table");
  });

  test("lets config override a model's rates, and says so on the cost", () => {
    const table = createPriceTable({
      overrides: { "openai/gpt-4o-2024-08-06": { inputPerMTok: 1, outputPerMTok: 2 } },
    });
    const cost = priceCall({
      table,
      provider: "openai",
      model: "gpt-4o-2024-08-06",
      usage: { inputTokens: 1_000_000, outputTokens: 1_000_000 },
    });
    assert.equal(cost.usd, 3);
    assert.equal(cost.source, "override");
    assert.equal(cost.priceTableVersion, "2026-11+overrides");
  });

  test("prices a model it does not know at 0 and marks it unpriced", () => {
    const cost = priceCall({
      table: createPriceTable(),
      provider: "openai",
      model: "gpt-unknown",
      usage: { inputTokens: 9, outputTokens: 9 },
    });
    assert.deepEqual(cost, { usd: 0, priceTableVersion: "2026-11", source: "unpriced" });
  });

  test("reserves the most a call can cost: all input at the dearer cache-write rate and the whole output allowance", () => {
    const usd = estimateCallCeiling({
      table: createPriceTable(),
      provider: "anthropic",
      model: "claude-sonnet-4-5-20250929",
      inputTokens: 1_000,
      maxOutputTokens: 1_000,
    });
    assert.ok(Math.abs(usd - (1_000 * 3.75 + 1_000 * 15) / 1e6) < 1e-12);
  });
});
