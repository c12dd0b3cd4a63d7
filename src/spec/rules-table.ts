import { z } from "zod";

/** Why `pattern` does not compile as a JavaScript regular expression with these flags, or null when it does. */
function regexProblem(pattern: string, flags: string): string | null {
  try {
    new RegExp(pattern, flags);
    return null;
  } catch (error) {
    const reason = /^Invalid regular expression: \/.*\/[a-z]*: (.*)$/s.exec((error as Error).message)?.[1];
    return `not a valid JavaScript regular expression: ${reason ?? (error as Error).message}`;
  }
}

/** A refinement that rejects strings that do not compile as a case-insensitive regular expression. */
const compilesCaseInsensitive = [
  (pattern: string) => regexProblem(pattern, "i") === null,
  { error: (issue: { input?: unknown }) => regexProblem(String(issue.input), "i") ?? undefined },
] as const;

/** A scalar test on one value found at a dotted path in the last tool result. */
export const ValueTest = z
  .union([
    z.string(),
    z.number(),
    z.boolean(),
    z.null(),
    z
      .strictObject({
        equals: z.unknown().optional().describe("The value must equal this."),
        matches: z
          .string()
          .refine(...compilesCaseInsensitive)
          .optional()
          .describe("The value must be a string matching this regular expression (case-insensitive)."),
        gt: z.number().optional().describe("The value must be a number greater than this."),
        gte: z.number().optional().describe("The value must be a number at least this."),
        lt: z.number().optional().describe("The value must be a number less than this."),
        lte: z.number().optional().describe("The value must be a number at most this."),
        exists: z.boolean().optional().describe("Whether the path must be present."),
      })
      .refine(
        (test) => Object.keys(test).length > 0,
        "a value test needs at least one of equals, matches, gt, gte, lt, lte, exists",
      ),
  ])
  .describe("A scalar the value must equal, or a test object (equals, matches, gt, gte, lt, lte, exists).");
export type ValueTest = z.infer<typeof ValueTest>;

/** A regular expression over the user's input; a plain string is matched case-insensitively. Named groups become `captures`. */
export const InputPattern = z
  .union([
    z
      .string()
      .min(1)
      .refine(...compilesCaseInsensitive),
    z
      .strictObject({
        pattern: z.string().min(1).describe("The regular expression."),
        flags: z
          .string()
          .regex(/^[imsu]*$/, "expected regular expression flags from i, m, s and u")
          .default("i")
          .describe("Regular expression flags from i, m, s, u (default i)."),
      })
      .superRefine((input, context) => {
        const problem = regexProblem(input.pattern, input.flags);
        if (problem !== null)
          context.addIssue({ code: "custom", path: ["pattern"], message: problem, input: input.pattern });
      }),
  ])
  .describe(
    "A regular expression over the user's input (a plain string is case-insensitive); named groups become captures.",
  );

/** All conditions of a rule must hold for it to fire. An empty `when` always holds (a catch-all). */
export const RuleCondition = z
  .strictObject({
    input: InputPattern.optional(),
    lastTool: z
      .string()
      .min(1)
      .optional()
      .describe("The tool whose result is the latest message; `none` means no tool has been called yet."),
    lastResult: z
      .record(z.string(), ValueTest)
      .optional()
      .describe("Tests on the latest tool result, keyed by dotted path (items.0.sku)."),
    lastError: z.boolean().optional().describe("Whether the latest tool call failed."),
    called: z.array(z.string()).optional().describe("Tools that must have been called already."),
    notCalled: z.array(z.string()).optional().describe("Tools that must not have been called yet."),
  })
  .describe("Conditions that must all hold for the rule to fire; an empty `when` always holds.");

/** One row of the decision table: when the conditions hold, call a tool or answer. Templates use `{{path}}`. */
export const Rule = z
  .strictObject({
    name: z.string().min(1).describe("Rule name, shown in traces."),
    when: RuleCondition.default({}),
    call: z
      .strictObject({
        tool: z.string().min(1).describe("Tool to call; it must be listed in the agent's tools."),
        arguments: z
          .record(z.string(), z.unknown())
          .default({})
          .describe("Tool arguments; strings may use {{path}} templates (captures.x, results.tool.field)."),
      })
      .optional()
      .describe("Call a tool (exclusive with answer)."),
    answer: z
      .union([z.string(), z.record(z.string(), z.unknown())])
      .optional()
      .describe(
        "Answer the user with this {{path}} template, or with a mapping (its strings templates) sent as JSON: a structured answer (exclusive with call).",
      ),
  })
  .refine((rule) => (rule.call === undefined) !== (rule.answer === undefined), {
    message: "a rule needs exactly one of `call` or `answer`",
  })
  .describe("One row of the decision table: when the conditions hold, call a tool or answer.");
export type Rule = z.infer<typeof Rule>;

/** The offline `rules` engine's decision table: first matching rule wins. */
export const RulesTable = z
  .strictObject({
    apiVersion: z.literal("keel/v1").describe("Format version of this file: keel/v1."),
    kind: z.literal("RulesTable").describe("What this file declares: RulesTable."),
    rules: z.array(Rule).min(1).describe("Rules in order; the first whose conditions hold wins."),
  })
  .meta({
    title: "Keel rules table",
    description: "The offline `rules` model's decision table: the first rule whose conditions hold wins.",
  });
export type RulesTable = z.infer<typeof RulesTable>;
