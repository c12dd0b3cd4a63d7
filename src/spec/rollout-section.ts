import { z } from "zod";
import { durationSchema } from "./duration.ts";

const StageDuration = durationSchema({
  units: ["s", "m", "h", "d"],
  examples: "30s, 10m, 1h or 1d",
  title: "Duration",
});

/** The strategies a deployment moves traffic with (docs/rollout.md). */
export const ROLLOUT_STRATEGIES = ["direct", "shadow", "canary", "ab"] as const;
export type RolloutStrategy = (typeof ROLLOUT_STRATEGIES)[number];

/** What keeps a caller on one version: the same user, the same session, or nothing beyond the run. */
export const STICKINESS_KEYS = ["user", "session", "run"] as const;
export type StickinessKey = (typeof STICKINESS_KEYS)[number];

const CanaryStage = z.strictObject({
  percent: z
    .number()
    .gt(0, "expected a percentage above 0")
    .max(100, "expected a percentage of at most 100")
    .describe("Share of new runs the candidate takes during this stage."),
  minRuns: z
    .number()
    .int()
    .min(1)
    .default(30)
    .describe(
      "Candidate runs the stage needs (ended, completed or failed) before it may advance (default 30).",
    ),
  minDuration: StageDuration.prefault("10m").describe(
    "How long the stage lasts at least before it may advance (default 10m).",
  ),
});

const MaxDrop = z.strictObject({
  maxDrop: z.number().min(0).max(1).describe("Largest absolute drop allowed, e.g. 0.05 = 5 points."),
});
const MaxRatio = z.strictObject({
  maxRatio: z.number().min(1).describe("Largest candidate ÷ stable ratio allowed, e.g. 1.25."),
});
const MaxRise = z.strictObject({
  maxRise: z.number().min(0).max(1).describe("Largest absolute rise allowed, e.g. 0.02 = 2 points."),
});

/** The gates each canary stage is judged on, each compared with stable by a stated statistical test. */
export const CanaryGatesSpec = z
  .strictObject({
    successRate: MaxDrop.optional().describe("Share of runs that do not fail."),
    p95LatencyMs: MaxRatio.optional().describe("95th percentile of run duration."),
    costPerRun: MaxRatio.optional().describe("Mean priced cost of a run."),
    evalScore: MaxDrop.optional().describe("Mean production-sampled eval score."),
    guardFlagRate: MaxRise.optional().describe("Share of runs with at least one guard finding."),
    approvalRejectionRate: MaxRise.optional().describe("Share of decided approval requests rejected."),
    confidence: z
      .number()
      .gt(0.5)
      .lt(1)
      .default(0.95)
      .describe("Confidence a breach must be shown with (default 0.95)."),
  })
  .describe("Gates a stage must pass; an absent gate is not checked (docs/rollout.md).");

/** The gates a canary uses when its spec names none: success rate and p95 latency. */
const DEFAULT_GATES = { successRate: { maxDrop: 0.05 }, p95LatencyMs: { maxRatio: 1.5 } };

/** How a shadowed side-effecting call is answered: the live run's result, a fixed value, or the tool's dry run. */
export const ShadowResult = z
  .union([
    z
      .literal("live")
      .describe(
        "The live run's result where it made the same call (else the call is answered as not executed).",
      ),
    z
      .literal("dry-run")
      .describe("The tool's own dry-run hook (a tool without one: answered as not executed)."),
    z.strictObject({ stub: z.unknown().describe("The value returned as the tool's result.") }),
  ])
  .describe("live | dry-run | { stub: value }");
export type ShadowResult = z.output<typeof ShadowResult>;

/** The `rollout` section: how a new version of this agent reaches traffic (docs/rollout.md). */
export const RolloutSection = z
  .strictObject({
    strategy: z
      .enum(ROLLOUT_STRATEGIES)
      .default("canary")
      .describe("The strategy `keel rollout start` uses when none is given (default canary)."),
    stickiness: z
      .enum(STICKINESS_KEYS)
      .default("user")
      .describe(
        "What keeps a caller on one version: user (the principal's subject), session, or run (default user).",
      ),
    canary: z
      .strictObject({
        stages: z
          .array(CanaryStage)
          .min(1)
          .default([
            { percent: 5, minRuns: 30, minDuration: 600_000 },
            { percent: 25, minRuns: 30, minDuration: 600_000 },
            { percent: 50, minRuns: 30, minDuration: 600_000 },
            { percent: 100, minRuns: 30, minDuration: 600_000 },
          ])
          .describe("The ramp, in order (default 5 → 25 → 50 → 100); the last stage passed promotes."),
        gates: CanaryGatesSpec.prefault(DEFAULT_GATES),
      })
      .superRefine((canary, context) => {
        for (const [index, stage] of canary.stages.entries()) {
          const before = canary.stages[index - 1];
          if (before && stage.percent <= before.percent)
            context.addIssue({
              code: "custom",
              path: ["stages", index, "percent"],
              message: `expected more than the stage before (${before.percent})`,
              input: stage.percent,
            });
        }
      })
      .prefault({})
      .describe("The canary ramp and its gates."),
    shadow: z
      .strictObject({
        results: z
          .record(z.string().min(1), ShadowResult)
          .default({})
          .describe("Per side-effecting tool, what the shadow run is answered with."),
        default: ShadowResult.default("live").describe(
          "For a side-effecting tool not listed (default live).",
        ),
      })
      .prefault({})
      .describe("Shadow runs: the candidate runs on a copy of live inputs and never acts."),
    ab: z
      .strictObject({
        candidatePercent: z
          .number()
          .gt(0)
          .lt(100)
          .default(50)
          .describe("Share of new runs the candidate takes for the whole test (default 50)."),
      })
      .prefault({})
      .describe("A/B test: a fixed split, ended by a person."),
  })
  .describe("How a new version of this agent reaches traffic (docs/rollout.md).");

export type RolloutSection = z.output<typeof RolloutSection>;

/** The section as a spec without one gets it: every default. */
export const DEFAULT_ROLLOUT: RolloutSection = RolloutSection.parse({});
