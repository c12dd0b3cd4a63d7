import { z } from "zod";
import type { CallCost, Usage } from "../journal/index.ts";
import shipped from "./prices/price-table-2026-11.json" with { type: "json" };

const Rates = z.strictObject({
  inputPerMTok: z.number().nonnegative(),
  outputPerMTok: z.number().nonnegative(),
  cacheReadPerMTok: z.number().nonnegative().optional(),
  cacheWritePerMTok: z.number().nonnegative().optional(),
});
export type Rates = z.infer<typeof Rates>;

const PriceEntry = Rates.extend({
  provider: z.string(),
  model: z.string(),
  longContext: Rates.extend({ aboveInputTokens: z.number().int().positive() }).optional(),
  source: z.string().url(),
  checkedAt: z.string(),
  note: z.string().optional(),
});
export type PriceEntry = z.infer<typeof PriceEntry>;

export const PriceTableFile = z.object({
  version: z.string().min(1),
  currency: z.literal("USD"),
  unit: z.literal("per million tokens"),
  description: z.string(),
  models: z.array(PriceEntry),
});

/** A price table ready for lookups: the shipped file plus any overrides from config. */
export type PriceTable = {
  readonly version: string;
  lookup(provider: string, model: string): { rates: PriceEntry | Rates; source: "table" | "override" } | null;
};

/** Per-model rates that replace (or add to) the shipped table, keyed `provider/model`. */
export type PriceOverrides = Readonly<Record<string, Rates>>;

/** The price table shipped with this build, with optional overrides. Its version is stamped on every cost. */
export function createPriceTable(
  options: { overrides?: PriceOverrides; file?: z.input<typeof PriceTableFile> } = {},
): PriceTable {
  const file = PriceTableFile.parse(options.file ?? shipped);
  const entries = new Map(file.models.map((entry) => [`${entry.provider}/${entry.model}`, entry]));
  const overrides = new Map(
    Object.entries(options.overrides ?? {}).map(([key, rates]) => [key, Rates.parse(rates)]),
  );
  const version = overrides.size > 0 ? `${file.version}+overrides` : file.version;
  return {
    version,
    lookup(provider, model) {
      const key = `${provider}/${model}`;
      const override = overrides.get(key);
      if (override) return { rates: override, source: "override" };
      const entry = entries.get(key);
      return entry ? { rates: entry, source: "table" } : null;
    },
  };
}

/**
 * Price one call. Tokens are split into uncached input, cache reads, cache writes and output (reasoning is
 * output); each part is billed at its rate per million, and a model past its long-context threshold is billed
 * at the long-context rates for the whole call, as the vendors do.
 */
export function priceCall(options: {
  table: PriceTable;
  provider: string;
  model: string;
  usage: Usage;
  selfHosted?: boolean;
}): CallCost {
  const { table, usage } = options;
  const found = table.lookup(options.provider, options.model);
  if (found === null) {
    return {
      usd: 0,
      priceTableVersion: table.version,
      source: options.selfHosted ? "self-hosted" : "unpriced",
    };
  }
  const rates = ratesFor(found.rates, usage.inputTokens);
  const cacheRead = usage.cacheReadTokens ?? 0;
  const cacheWrite = usage.cacheWriteTokens ?? 0;
  const uncached = Math.max(0, usage.inputTokens - cacheRead - cacheWrite);
  const micro =
    uncached * rates.inputPerMTok +
    cacheRead * (rates.cacheReadPerMTok ?? rates.inputPerMTok) +
    cacheWrite * (rates.cacheWritePerMTok ?? rates.inputPerMTok) +
    usage.outputTokens * rates.outputPerMTok;
  return { usd: micro / 1_000_000, priceTableVersion: table.version, source: found.source };
}

/**
 * The most a call can cost, for reserving budget before it is made: every input token at the dearer of the
 * input and cache-write rates, and the whole output allowance.
 */
export function estimateCallCeiling(options: {
  table: PriceTable;
  provider: string;
  model: string;
  inputTokens: number;
  maxOutputTokens: number;
}): number {
  const found = options.table.lookup(options.provider, options.model);
  if (found === null) return 0;
  const rates = ratesFor(found.rates, options.inputTokens);
  const input = Math.max(rates.inputPerMTok, rates.cacheWritePerMTok ?? 0);
  return (options.inputTokens * input + options.maxOutputTokens * rates.outputPerMTok) / 1_000_000;
}

function ratesFor(rates: PriceEntry | Rates, inputTokens: number): Rates {
  if ("longContext" in rates && rates.longContext && inputTokens > rates.longContext.aboveInputTokens) {
    return rates.longContext;
  }
  return rates;
}
