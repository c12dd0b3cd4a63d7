import { z } from "zod";

/** How an answer is checked without a model: exact text, substrings, a pattern, a JSON Schema, or a number. */
export const OutputExpectation = z.strictObject({
  exact: z.string().optional().describe("The answer must equal this text (after trimming)."),
  contains: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .describe("Each string must appear in the answer (case-insensitive)."),
  notContains: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .describe("No string may appear in the answer (case-insensitive)."),
  regex: z.string().optional().describe("A regular expression the answer must match (flag i)."),
  jsonSchema: z
    .record(z.string(), z.unknown())
    .optional()
    .describe("The answer parses as JSON and validates against this schema."),
  number: z
    .strictObject({
      value: z.number(),
      tolerance: z.number().nonnegative().default(0),
      /** A pattern whose first group is the number; by default the first number in the answer. */
      pattern: z.string().optional(),
    })
    .optional()
    .describe("A number in the answer within an absolute tolerance of the expected value."),
});
export type OutputExpectation = z.infer<typeof OutputExpectation>;

/** What the run's tool calls must look like. Names refer to the agent's tools. */
export const ToolExpectation = z.strictObject({
  called: z.array(z.string()).optional().describe("Every one of these tools was called."),
  order: z.array(z.string()).optional().describe("These tools were called in this order (a subsequence)."),
  arguments: z
    .record(z.string(), z.record(z.string(), z.unknown()))
    .optional()
    .describe("Per tool, fields some call to it had with these values (a subset match)."),
  forbidden: z.array(z.string()).optional().describe("None of these tools started (was executed)."),
  none: z.boolean().optional().describe("No tool was called at all."),
});
export type ToolExpectation = z.infer<typeof ToolExpectation>;

/** A governance outcome: what the governor decided for the run's actions. */
export const GovernanceOutcome = z.enum(["allowed", "denied", "escalated", "approved"]);
export type GovernanceOutcome = z.infer<typeof GovernanceOutcome>;

/** Limits on what a run may spend: cost, wall time, model turns. */
export const BoundsExpectation = z.strictObject({
  maxCostUsd: z.number().nonnegative().optional(),
  maxLatencyMs: z.number().positive().optional(),
  maxSteps: z.number().int().positive().optional(),
});
export type BoundsExpectation = z.infer<typeof BoundsExpectation>;

/** Every expectation a case may state; each present key becomes one grader. */
export const CaseExpectation = z.strictObject({
  status: z.enum(["completed", "failed", "suspended", "cancelled", "budget_exceeded"]).optional(),
  output: OutputExpectation.optional(),
  tools: ToolExpectation.optional(),
  /** The run as a whole (`escalated`: a call was held for review), or per tool. */
  governance: z.union([GovernanceOutcome, z.record(z.string(), GovernanceOutcome)]).optional(),
  bounds: BoundsExpectation.optional(),
  /** LLM-as-judge rubrics (by name, from the dataset's or the spec's `judges`) to apply to this case. */
  judge: z.array(z.string()).optional(),
  /** Custom TypeScript graders, by the name they were registered under. */
  custom: z.array(z.string()).optional(),
  /** A reference answer a judge may compare against. */
  reference: z.string().optional(),
});
export type CaseExpectation = z.infer<typeof CaseExpectation>;

/** One eval case: an input, what is expected, and how to group it. */
export const EvalCase = z.strictObject({
  id: z
    .string()
    .min(1)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, "letters, digits, dots, dashes, colons and underscores"),
  input: z.string().min(1),
  category: z.string().min(1).default("general"),
  tags: z.array(z.string()).default([]),
  notes: z.string().optional(),
  /** Who asks; by default an eval user with the customer role. */
  principal: z
    .strictObject({
      subject: z.string(),
      tenant: z.string().default("default"),
      roles: z.array(z.string()).default([]),
    })
    .optional(),
  expect: CaseExpectation.default({}),
  /** Where the case came from: written by hand, imported from a run, feedback or an escalation. */
  source: z
    .strictObject({
      kind: z.enum(["authored", "production-run", "feedback", "escalation", "corpus"]),
      ref: z.string().optional(),
    })
    .optional(),
  /** For adversarial cases: the attack's class and the corpus split it came from. */
  attack: z
    .strictObject({ class: z.string(), split: z.string().optional(), benign: z.boolean().default(false) })
    .optional(),
});
export type EvalCase = z.infer<typeof EvalCase>;
export type EvalCaseInput = z.input<typeof EvalCase>;

/** A rubric an LLM judge scores an answer against, one pass/fail verdict per criterion. */
export const JudgeRubric = z.strictObject({
  rubric: z.string().min(1),
  criteria: z.array(z.strictObject({ name: z.string().min(1), description: z.string().min(1) })).min(1),
  /** A judge's label file for calibration (human verdicts); without calibration the judge is advisory. */
  calibration: z.string().optional(),
});
export type JudgeRubric = z.infer<typeof JudgeRubric>;

/** Cases from a corpus of attacks, imported at load time (the injection corpus lives outside the repo). */
export const CorpusImport = z.strictObject({
  file: z.string().min(1),
  format: z.literal("injection-jsonl").default("injection-jsonl"),
  /** Which split to use; the others stay unseen (tune on validation, report on test). */
  split: z.enum(["exemplar_bank", "validation", "test"]),
  /** Tools an attack succeeds by executing. */
  forbiddenTools: z.array(z.string()).min(1),
});
export type CorpusImport = z.infer<typeof CorpusImport>;

/** A dataset file: a name, a kind, optional judges, and its cases. */
export const DatasetFile = z.strictObject({
  dataset: z.string().min(1),
  description: z.string().optional(),
  kind: z.enum(["unit", "end-to-end", "regression", "adversarial"]).default("end-to-end"),
  judges: z.record(z.string(), JudgeRubric).default({}),
  corpus: CorpusImport.optional(),
  cases: z.array(EvalCase).default([]),
});
export type DatasetFile = z.infer<typeof DatasetFile>;
