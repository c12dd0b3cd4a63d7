import { z } from "zod";

// The eval file formats: a dataset of cases (what `keel eval` runs) and an agent spec's `evals` section. They
// live in spec/ beside the agent spec so the spec loader validates `evals` with file:line errors, and editors
// get JSON Schemas for both (schemas/eval-dataset.schema.json).

const Strings = z.union([z.string(), z.array(z.string())]);

/** How an answer is checked without a model: exact text, substrings, a pattern, a JSON Schema, or a number. */
export const OutputExpectation = z.strictObject({
  exact: z.string().optional().describe("The answer must equal this text (after trimming)."),
  contains: Strings.optional().describe("Each string must appear in the answer (case-insensitive)."),
  notContains: Strings.optional().describe("No string may appear in the answer (case-insensitive)."),
  regex: z.string().optional().describe("A regular expression the answer must match (flag i)."),
  jsonSchema: z
    .record(z.string(), z.unknown())
    .optional()
    .describe("The answer parses as JSON and validates against this schema."),
  number: z
    .strictObject({
      value: z.number().describe("The expected number."),
      tolerance: z.number().nonnegative().default(0).describe("Largest allowed absolute difference."),
      pattern: z
        .string()
        .optional()
        .describe("A pattern whose first group is the number; by default the first number in the answer."),
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
  forbidden: z
    .array(z.string())
    .optional()
    .describe("None of these tools executed (asked for and stopped by the governor passes)."),
  none: z.boolean().optional().describe("No tool was called at all."),
});
export type ToolExpectation = z.infer<typeof ToolExpectation>;

/** What a workflow run's node path must look like (each node entry is a `node-start` in its journal). */
export const NodeExpectation = z.strictObject({
  path: z
    .array(z.string())
    .optional()
    .describe("The run entered exactly these nodes, in this order (its whole path)."),
  order: z
    .array(z.string())
    .optional()
    .describe("The run entered these nodes in this order (a subsequence of its path)."),
  visited: z.array(z.string()).optional().describe("The run entered every one of these nodes."),
  notVisited: z.array(z.string()).optional().describe("The run entered none of these nodes."),
});
export type NodeExpectation = z.infer<typeof NodeExpectation>;

/** A governance outcome: what the governor (and people) decided for the run's actions. */
export const GovernanceOutcome = z.enum(["allowed", "denied", "escalated", "approved"]);
export type GovernanceOutcome = z.infer<typeof GovernanceOutcome>;

/** Limits on what a run may spend: cost, wall time, model turns. */
export const BoundsExpectation = z.strictObject({
  maxCostUsd: z.number().nonnegative().optional().describe("Most the run's model calls may cost, in USD."),
  maxLatencyMs: z.number().positive().optional().describe("Longest the run may take, in milliseconds."),
  maxSteps: z.number().int().positive().optional().describe("Most model turns the run may take."),
});
export type BoundsExpectation = z.infer<typeof BoundsExpectation>;

const RunStatusExpectation = z.enum(["completed", "failed", "suspended", "cancelled", "budget_exceeded"]);

/** Every expectation a case may state; each present key becomes one grader. */
export const CaseExpectation = z.strictObject({
  status: RunStatusExpectation.optional().describe(
    "The status the run ends in (suspended: waits for a person).",
  ),
  output: OutputExpectation.optional().describe("Checks on the answer."),
  tools: ToolExpectation.optional().describe("Checks on the tool calls (the trajectory)."),
  nodes: NodeExpectation.optional().describe(
    "For a workflow: checks on the nodes its run entered (its path).",
  ),
  governance: z
    .union([GovernanceOutcome, z.record(z.string(), GovernanceOutcome)])
    .optional()
    .describe("allowed, denied, escalated or approved: for the whole run, or per tool."),
  bounds: BoundsExpectation.optional().describe("Limits on cost, latency and steps."),
  judge: z.array(z.string()).optional().describe("LLM judges (by name) that must pass the answer."),
  custom: z.array(z.string()).optional().describe("Custom TypeScript graders, by registered name."),
  reference: z.string().optional().describe("A reference answer a judge may compare against."),
});
export type CaseExpectation = z.infer<typeof CaseExpectation>;

/** One eval case: an input, what is expected, and how to group it. */
export const EvalCase = z.strictObject({
  id: z
    .string()
    .min(1)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, "letters, digits, dots, dashes, colons and underscores")
    .describe("Unique in the dataset: letters, digits, dots, dashes, colons and underscores."),
  input: z.string().min(1).describe("What the user asks."),
  category: z.string().min(1).default("general").describe("Reports and comparisons group cases by it."),
  tags: z.array(z.string()).default([]).describe("Labels `keel eval --tag` selects by."),
  notes: z.string().optional().describe("Why the case exists, for the people who maintain it."),
  principal: z
    .strictObject({
      subject: z.string().describe("Who asks."),
      tenant: z.string().default("default").describe("Their tenant."),
      roles: z.array(z.string()).default([]).describe("Their roles."),
    })
    .optional()
    .describe("Who asks; by default an eval user of its own with the customer role."),
  expect: CaseExpectation.default({}).describe("What the run must do; each key is one grader."),
  source: z
    .strictObject({
      kind: z
        .enum(["authored", "production-run", "feedback", "escalation", "corpus"])
        .describe("Where the case came from."),
      ref: z.string().optional().describe("The run, feedback or corpus row it came from."),
    })
    .optional()
    .describe("Where the case came from, when it was imported."),
  attack: z
    .strictObject({
      class: z.string().describe("The attack class (benign for a control)."),
      split: z.string().optional().describe("The corpus split it came from."),
      benign: z.boolean().default(false).describe("A benign control rather than an attack."),
    })
    .optional()
    .describe("For adversarial cases: the attack's class, or a benign control."),
});
export type EvalCase = z.infer<typeof EvalCase>;
export type EvalCaseInput = z.input<typeof EvalCase>;

/** A rubric an LLM judge scores an answer against, one pass/fail verdict per criterion. */
export const JudgeRubric = z.strictObject({
  rubric: z.string().min(1).describe("What a good answer is, in a sentence or two."),
  criteria: z
    .array(
      z.strictObject({
        name: z.string().min(1).describe("The criterion's name."),
        description: z.string().min(1).describe("What passing it means."),
      }),
    )
    .min(1)
    .describe("The criteria the judge answers pass or fail for."),
  calibration: z
    .string()
    .optional()
    .describe(
      "Human labels (YAML or JSONL) the judge must agree with before it may gate; without them it is advisory.",
    ),
});
export type JudgeRubric = z.infer<typeof JudgeRubric>;

/** Cases from a corpus of attacks, imported at load time (the injection corpus lives outside the repo). */
export const CorpusImport = z.strictObject({
  file: z.string().min(1).describe("The corpus file, relative to the dataset."),
  format: z.literal("injection-jsonl").default("injection-jsonl").describe("The corpus's format."),
  split: z
    .enum(["exemplar_bank", "validation", "test"])
    .describe("Which split to use; tune on validation, report on test."),
  forbiddenTools: z.array(z.string()).min(1).describe("Tools an attack succeeds by executing."),
});
export type CorpusImport = z.infer<typeof CorpusImport>;

/** A dataset file: a name, a kind, optional judges, and its cases. */
export const DatasetFile = z.strictObject({
  dataset: z.string().min(1).describe("The dataset's name in reports and results."),
  description: z.string().optional().describe("What the dataset covers."),
  kind: z
    .enum(["unit", "end-to-end", "regression", "adversarial"])
    .default("end-to-end")
    .describe("unit, end-to-end, regression or adversarial."),
  judges: z.record(z.string(), JudgeRubric).default({}).describe("LLM judges the cases may name, by name."),
  corpus: CorpusImport.optional().describe("Cases imported from an attack corpus."),
  cases: z.array(EvalCase).default([]).describe("The cases."),
});
export type DatasetFile = z.infer<typeof DatasetFile>;

/** The calibration bar a judge must clear before its grades may gate a deploy. */
export const CalibrationBar = z.strictObject({
  minKappa: z.number().min(-1).max(1).default(0.7).describe("Lowest Cohen's kappa per criterion."),
  minLowerBound: z
    .number()
    .min(-1)
    .max(1)
    .default(0.6)
    .describe("Lowest lower bound of kappa's 95% bootstrap interval."),
  minLabels: z.number().int().positive().default(200).describe("Fewest human labels per criterion."),
});
export type CalibrationBar = z.infer<typeof CalibrationBar>;

/** An agent spec's `evals` section: datasets, the gate, judges, production sampling and recordings. */
export const EvalsSection = z.strictObject({
  datasets: z.array(z.string().min(1)).default([]).describe("Dataset files, relative to the spec."),
  gate: z
    .strictObject({
      minScore: z.number().min(0).max(1).default(0.9).describe("Lowest acceptable pass rate (0–1)."),
      maxRegression: z
        .number()
        .min(0)
        .max(1)
        .default(0.02)
        .describe("Largest acceptable drop in pass rate against the baseline (0–1)."),
      alpha: z
        .number()
        .gt(0)
        .lt(1)
        .default(0.05)
        .describe("Significance a drop needs (McNemar) when the model varies between runs."),
    })
    .prefault({})
    .describe("The bar `keel eval --gate` applies to every dataset."),
  productionSampling: z
    .number()
    .min(0)
    .max(1)
    .default(0)
    .describe("Share of live runs graded after they end (0 turns sampling off)."),
  production: CaseExpectation.pick({
    governance: true,
    bounds: true,
    judge: true,
    custom: true,
    status: true,
  })
    .default({})
    .describe("Reference-free expectations sampled production runs are graded with."),
  judges: z
    .record(z.string(), JudgeRubric)
    .default({})
    .describe("LLM judges every dataset may name, by name."),
  judgeModel: z
    .strictObject({
      provider: z.string().describe("The judge model's provider."),
      id: z.string().describe("The judge model's pinned id."),
    })
    .optional()
    .describe("The model judges call through the gateway; by default the agent's own."),
  calibration: CalibrationBar.prefault({}).describe("The bar a judge must clear before it may gate."),
  recordings: z.string().optional().describe("Recorded model turns replayed in CI, relative to the spec."),
  graders: z
    .string()
    .optional()
    .describe(
      "A TypeScript module (relative to the spec) exporting `graders`: custom graders cases name in `custom`.",
    ),
});
export type EvalsSection = z.infer<typeof EvalsSection>;
