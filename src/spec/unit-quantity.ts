import { z } from "zod";

/**
 * A quantity field written as a whole number of the base unit, or as text such as `15s` or `256MiB`: a whole number
 * followed by one of `units` (each the base units it stands for), parsed to the base unit. `hint` is the error for
 * anything else; `base` describes a bare number.
 */
export function unitQuantitySchema(options: {
  units: Readonly<Record<string, number>>;
  hint: string;
  base: string;
}) {
  const pattern = new RegExp(`^(\\d+)(${Object.keys(options.units).join("|")})$`);
  return z.union(
    [
      z.number().int().positive().describe(options.base),
      z
        .string()
        .regex(pattern, options.hint)
        .transform((text) => {
          const match = pattern.exec(text)!;
          return Number(match[1]) * options.units[match[2]!]!;
        }),
    ],
    { error: options.hint },
  );
}
