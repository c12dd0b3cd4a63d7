import { z } from "zod";

/**
 * An order number: a positive integer, or the same digits as a string (models and the offline rules often
 * pass what the customer typed). Capped at PostgreSQL's `integer` range so a long number is a validation
 * error rather than a database error.
 */
export const OrderId = z
  .union([
    z.number(),
    z
      .string()
      .trim()
      .regex(/^#?\d+$/, "expected an order number such as 1042"),
  ])
  .transform((value) => (typeof value === "number" ? value : Number(value.replace("#", ""))))
  .pipe(z.number().int().positive().max(2_147_483_647));
