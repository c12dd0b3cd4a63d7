import { z } from "zod";

/** Milliseconds per unit a duration may be written in. */
const UNITS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

type Unit = keyof typeof UNITS;

/**
 * A duration field: a whole number of milliseconds, or text such as `15s` in one of `units`, parsed to
 * milliseconds. `examples` is how the error and the editor's description say it ("500ms, 15s, 2m or 1h").
 */
export function durationSchema(options: { units: readonly Unit[]; examples: string; title: string }) {
  const pattern = new RegExp(`^(\\d+)(${options.units.join("|")})$`);
  const hint = `expected a duration such as ${options.examples}, or a whole number of milliseconds`;
  return z
    .union(
      [
        z.number().int().positive().describe("Milliseconds."),
        z
          .string()
          .regex(pattern, hint)
          .transform((text) => {
            const match = pattern.exec(text)!;
            return Number(match[1]) * UNITS[match[2] as Unit];
          }),
      ],
      { error: hint },
    )
    .meta({ title: options.title, description: `A duration such as ${options.examples}, or milliseconds.` });
}
