import { unitQuantitySchema } from "./unit-quantity.ts";

/** Milliseconds per unit a duration may be written in. */
const UNITS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

type Unit = keyof typeof UNITS;

/**
 * A duration field: a whole number of milliseconds, or text such as `15s` in one of `units`, parsed to
 * milliseconds. `examples` is how the error and the editor's description say it ("500ms, 15s, 2m or 1h").
 */
export function durationSchema(options: { units: readonly Unit[]; examples: string; title: string }) {
  return unitQuantitySchema({
    units: Object.fromEntries(options.units.map((unit) => [unit, UNITS[unit]])),
    hint: `expected a duration such as ${options.examples}, or a whole number of milliseconds`,
    base: "Milliseconds.",
  }).meta({ title: options.title, description: `A duration such as ${options.examples}, or milliseconds.` });
}
