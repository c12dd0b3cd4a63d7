import { z } from "zod";

/** Bytes per unit a size may be written in. */
const UNITS = { B: 1, KiB: 1_024, MiB: 1_024 ** 2, GiB: 1_024 ** 3 } as const;

type Unit = keyof typeof UNITS;

/**
 * A size field: a whole number of bytes, or text such as `256MiB` (B, KiB, MiB or GiB), parsed to bytes and kept
 * between `min` and `max`, whose error names both in the units the field is written in.
 */
export function byteSizeSchema(options: { min: number; max: number; title: string }) {
  const pattern = /^(\d+)(B|KiB|MiB|GiB)$/;
  const hint = "expected a size such as 64KiB or 256MiB, or a whole number of bytes";
  return z
    .union(
      [
        z.number().int().positive().describe("Bytes."),
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
    .pipe(
      z
        .number()
        .min(options.min, `expected at least ${describeBytes(options.min)}`)
        .max(options.max, `expected at most ${describeBytes(options.max)}`),
    )
    .meta({ title: options.title, description: "A size such as 64KiB or 256MiB, or bytes." });
}

/** A size as people write it: the largest unit it is a whole number of. */
export function describeBytes(bytes: number): string {
  for (const unit of ["GiB", "MiB", "KiB"] as const)
    if (bytes % UNITS[unit] === 0) return `${bytes / UNITS[unit]}${unit}`;
  return `${bytes}B`;
}
