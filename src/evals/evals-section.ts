import { z } from "zod";
import { CaseExpectation, JudgeRubric } from "./eval-case.ts";

/** The calibration bar a judge must clear before its grades may gate a deploy. */
export const CalibrationBar = z.strictObject({
  minKappa: z.number().min(-1).max(1).default(0.7),
  minLowerBound: z.number().min(-1).max(1).default(0.6),
  minLabels: z.number().int().positive().default(200),
});
export type CalibrationBar = z.infer<typeof CalibrationBar>;

/** An agent spec's `evals` section: datasets, the gate, judges, production sampling and recordings. */
export const EvalsSection = z.strictObject({
  datasets: z.array(z.string().min(1)).default([]),
  gate: z
    .strictObject({
      minScore: z.number().min(0).max(1).default(0.9),
      maxRegression: z.number().min(0).max(1).default(0.02),
      alpha: z.number().gt(0).lt(1).default(0.05),
    })
    .prefault({}),
  /** Share of live runs graded asynchronously (0 turns sampling off). */
  productionSampling: z.number().min(0).max(1).default(0),
  /** Expectations applied to sampled production runs: reference-free ones (governance, bounds, judges, custom). */
  production: CaseExpectation.pick({
    governance: true,
    bounds: true,
    judge: true,
    custom: true,
    status: true,
  }).default({}),
  judges: z.record(z.string(), JudgeRubric).default({}),
  /** The model judges call through the gateway; by default the agent's own. */
  judgeModel: z.strictObject({ provider: z.string(), id: z.string() }).optional(),
  calibration: CalibrationBar.prefault({}),
  /** Recorded model turns replayed in CI (relative to the spec). */
  recordings: z.string().optional(),
});
export type EvalsSection = z.infer<typeof EvalsSection>;

/** Parse a spec's open `evals` section; an absent section gives the defaults. */
export function parseEvalsSection(section: unknown): EvalsSection {
  return EvalsSection.parse(section ?? {});
}
