import { z } from "zod";

/** A scalar test on one value found at a dotted path in the last tool result. */
export const ValueTest = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.null(),
  z
    .strictObject({
      equals: z.unknown().optional(),
      matches: z.string().optional(),
      gt: z.number().optional(),
      gte: z.number().optional(),
      lt: z.number().optional(),
      lte: z.number().optional(),
      exists: z.boolean().optional(),
    })
    .refine(
      (test) => Object.keys(test).length > 0,
      "a value test needs at least one of equals, matches, gt, gte, lt, lte, exists",
    ),
]);
export type ValueTest = z.infer<typeof ValueTest>;

/** A regular expression over the user's input; a plain string is matched case-insensitively. Named groups become `captures`. */
export const InputPattern = z.union([
  z.string().min(1),
  z.strictObject({
    pattern: z.string().min(1),
    flags: z
      .string()
      .regex(/^[imsu]*$/)
      .default("i"),
  }),
]);

/** All conditions of a rule must hold for it to fire. An empty `when` always holds (a catch-all). */
export const RuleCondition = z.strictObject({
  input: InputPattern.optional(),
  /** The tool whose result is the latest message; `none` means no tool has been called yet. */
  lastTool: z.string().min(1).optional(),
  /** Tests on the latest tool result, by dotted path (`items.0.sku`). */
  lastResult: z.record(z.string(), ValueTest).optional(),
  /** Whether the latest tool call failed. */
  lastError: z.boolean().optional(),
  called: z.array(z.string()).optional(),
  notCalled: z.array(z.string()).optional(),
});

/** One row of the decision table: when the conditions hold, call a tool or answer. Templates use `{{path}}`. */
export const Rule = z
  .strictObject({
    name: z.string().min(1),
    when: RuleCondition.default({}),
    call: z
      .strictObject({ tool: z.string().min(1), arguments: z.record(z.string(), z.unknown()).default({}) })
      .optional(),
    answer: z.string().optional(),
  })
  .refine((rule) => (rule.call === undefined) !== (rule.answer === undefined), {
    message: "a rule needs exactly one of `call` or `answer`",
  });
export type Rule = z.infer<typeof Rule>;

/** The offline `rules` engine's decision table: first matching rule wins. */
export const RulesTable = z.strictObject({
  apiVersion: z.literal("keel/v1"),
  kind: z.literal("RulesTable"),
  rules: z.array(Rule).min(1),
});
export type RulesTable = z.infer<typeof RulesTable>;
