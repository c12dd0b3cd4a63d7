import { z } from "zod";
import { unitQuantitySchema } from "./unit-quantity.ts";

/** Bytes per unit a size may be written in. */
const UNITS = { B: 1, KiB: 1_024, MiB: 1_024 ** 2, GiB: 1_024 ** 3 } as const;

/**
 * A size field: a whole number of bytes, or text such as `256MiB` (B, KiB, MiB or GiB), parsed to bytes and kept
 * between `min` and `max`, whose error names both in the units the field is written in.
 */
export function byteSizeSchema(options: { min: number; max: number; title: string }) {
  return unitQuantitySchema({
    units: UNITS,
    hint: "expected a size such as 64KiB or 256MiB, or a whole number of bytes",
    base: "Bytes.",
  })
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
