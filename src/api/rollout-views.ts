import { z } from "zod";

/** The rollout API's bodies and answers (docs/rollout.md): deployments, their history and the stage verdict. */

const isoTime = z.string().describe("an ISO 8601 date-time");

const Strategy = z.enum(["direct", "shadow", "canary", "ab"]);

export const StartRolloutBody = z.strictObject({
  to: z
    .string()
    .trim()
    .min(1)
    .max(64)
    .describe("the candidate version: one the server loads beside the current one (a package's `versions`)"),
  strategy: Strategy.optional().describe("default: the candidate spec's `rollout.strategy` (canary)"),
});

export const RolloutActionBody = z
  .strictObject({ reason: z.string().trim().min(1).max(2_000).optional() })
  .optional();

export const DeploymentView = z.object({
  deploymentId: z.string(),
  agent: z.string(),
  stableVersion: z.string(),
  candidateVersion: z.string(),
  strategy: Strategy,
  state: z.enum(["running", "paused", "promoted", "rolled_back", "aborted", "ended"]),
  stickiness: z.enum(["user", "session", "run"]),
  plan: z.object({
    stages: z.array(z.object({ percent: z.number(), minRuns: z.number(), minDurationMs: z.number() })),
    gates: z.record(z.string(), z.unknown()),
  }),
  stage: z.number().describe("index into plan.stages"),
  candidatePercent: z.number().describe("share of new runs the candidate takes now, 0 to 100"),
  stageStartedAt: isoTime,
  startedBy: z.string(),
  startedAt: isoTime,
  updatedBy: z.string(),
  updatedAt: isoTime,
  endedAt: isoTime.nullable(),
});

export const DeploymentEventView = z.object({
  seq: z.number(),
  kind: z.string(),
  stage: z.number(),
  candidatePercent: z.number(),
  actor: z.string(),
  reason: z.string(),
  evidence: z.record(z.string(), z.unknown()).nullable().describe("the verdict and its gates, where one was"),
  at: isoTime,
});

const GateResultView = z.looseObject({
  gate: z.string(),
  stable: z.number().nullable(),
  candidate: z.number().nullable(),
  test: z.string(),
  pValue: z.number().nullable(),
  breached: z.boolean(),
  decided: z.boolean(),
});

export const RolloutStatusView = z.object({
  agent: z.string(),
  serving: z.string().describe("the version new runs get outside an open deployment"),
  versions: z.array(z.string()).describe("every version the server loads for the agent"),
  deployment: DeploymentView.nullable().describe("the newest deployment, open or over"),
  history: z.array(DeploymentEventView),
  verdict: z
    .object({
      action: z.enum(["wait", "advance", "rollback"]),
      reason: z.string(),
      gates: z.array(GateResultView),
    })
    .nullable()
    .describe("a running canary's current stage judged now, or an A/B test's comparison so far"),
  comparison: z
    .object({
      confidence: z.number(),
      metrics: z.array(
        z.object({
          metric: z.string(),
          stable: z.number().nullable(),
          candidate: z.number().nullable(),
          difference: z.number().nullable().describe("candidate − stable"),
          interval: z.object({ low: z.number(), high: z.number() }).nullable(),
          test: z.string(),
          pValue: z.number().nullable().describe("two-sided: the arms do not differ"),
          verdict: z.enum([
            "candidate better",
            "candidate worse",
            "no significant difference",
            "not enough data",
          ]),
          conclusion: z.string(),
        }),
      ),
    })
    .nullable()
    .describe("a running A/B test's arms compared metric by metric since it began, with significance"),
});
