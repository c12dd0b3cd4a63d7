import { z } from "zod";
import { EVENT_TYPES, type JournalEvent, RunStatus } from "../journal/events.ts";

/**
 * What the API answers, as zod schemas: the types the client gives its callers and the JSON Schemas of the
 * OpenAPI document. Views the CLI reads name every field it reads; the larger reports name their main fields and
 * admit the rest (`looseObject`), as their shape is owned by the module that computes them.
 */

const isoTime = z.string().describe("an ISO 8601 date-time");
const record = z.record(z.string(), z.unknown());

export const HealthView = z.object({ ok: z.boolean(), store: z.string() });
export const ReadinessView = z.object({ ready: z.boolean(), reason: z.string().optional() });

const BudgetCapView = z.object({ usd: z.number().optional(), tokens: z.number().optional() });

export const AgentView = z.object({
  name: z.string(),
  version: z.string(),
  versionHash: z.string(),
  description: z.string().nullish(),
  owner: z.unknown(),
  riskTier: z.number().nullish(),
  model: z.object({ provider: z.string(), id: z.string(), offline: z.boolean() }),
  tools: z.array(z.string()),
  limits: z.unknown(),
  budgets: z
    .object({ perRun: BudgetCapView, perAgentPerDay: BudgetCapView, perTenantPerDay: BudgetCapView })
    .partial()
    .describe("the spending caps the agent declares (`budgets` in its spec); none when it declares none"),
});

/** Who requested a run's cancel (a principal's subject, or `system:keel` when Keel's runtime did) and why. */
export const CancelRequestView = z.object({
  by: z.string(),
  reason: z
    .string()
    .optional()
    .describe("why; for a run the cancel of an ancestor reached, that ancestor's id"),
});

export const RunView = z.object({
  id: z.string(),
  agent: z.string(),
  agentVersion: z.string(),
  status: RunStatus,
  input: z.string(),
  answer: z.string().nullable(),
  error: z.looseObject({ code: z.string(), message: z.string() }).nullable(),
  cancelRequested: z.boolean(),
  cancelRequest: CancelRequestView.nullable().describe(
    "who requested the run's cancel and why; null when none was",
  ),
  events: z.number().int().describe("the run's last event sequence number"),
  shadowOf: z
    .string()
    .nullable()
    .describe(
      "for a shadow run, the live run it shadows (it acted on nothing and reached no user); else null",
    ),
  createdAt: isoTime,
  updatedAt: isoTime.describe(
    "when the run last changed status or was cancelled or decided on; the steps of a running run leave it alone",
  ),
  links: z.object({ self: z.string(), events: z.string() }),
});
export const RunDetailView = RunView.extend({
  output: z
    .unknown()
    .optional()
    .describe(
      "for a completed run of an agent with an output schema: its answer parsed, as it matched the schema",
    ),
  explanation: z
    .string()
    .optional()
    .describe(
      "for a run that could not finish or waits for a person: what was tried, where the request went",
    ),
});
export const CreatedRunView = RunView.extend({
  created: z.boolean().describe("false when an idempotency key returned an existing run"),
});

/** A session's message as accepted: the run it started (as a started run is shown), with its session and number. */
export const SessionRunView = CreatedRunView.extend({
  runId: z.string().describe("the run the message started (also `id`)"),
  sessionId: z.string(),
  turn: z.number().int().describe("the message's number in the session"),
});

/** A session: a thread of runs of one agent for one principal. */
export const SessionView = z.object({
  id: z.string(),
  agent: z.string(),
  subject: z.string().describe("who the thread is about: the subject named at creation, else the caller's"),
  metadata: record.nullable(),
  turns: z.number().int().describe("how many messages the session has taken"),
  createdAt: isoTime,
  links: z.object({ self: z.string(), messages: z.string() }),
});

/** One message of a session, projected from its runs' journals: a run's input (user) or its answer (assistant). */
export const SessionMessageView = z.union([
  z.object({
    role: z.enum(["user", "assistant"]),
    content: z.string(),
    turn: z.number().int().describe("the number of the message (run) of the session it belongs to"),
    runId: z.string(),
    toolCalls: z
      .array(z.object({ callId: z.string(), tool: z.string(), arguments: z.unknown() }))
      .optional()
      .describe("with `tools=true`: the tool calls of an assistant turn that asked for tools"),
  }),
  z
    .object({
      role: z.literal("tool"),
      callId: z.string(),
      tool: z.string(),
      content: z.unknown().describe("the result as journaled (redacted), or the error the call ended with"),
      isError: z.boolean(),
      turn: z.number().int(),
      runId: z.string(),
    })
    .describe("with `tools=true`: a tool call's result"),
]);

export const SessionDetailView = SessionView.extend({
  messages: z
    .array(SessionMessageView)
    .describe("in order: each turn's input, then its answer once it has one"),
  runs: z
    .array(
      z.object({
        turn: z.number().int(),
        runId: z.string(),
        status: RunStatus,
        error: z.looseObject({ code: z.string(), message: z.string() }).nullable(),
      }),
    )
    .describe("the session's runs in message order"),
  workingMemory: record
    .nullable()
    .describe(
      "the session's working memory as its runs left it (the latest update_working_memory value), or null",
    ),
});

/** One run of a run tree and, recursively, the child runs its nodes started, oldest first. */
export const RunTreeNodeView = z.object({
  id: z.string(),
  agent: z.string(),
  agentVersion: z.string(),
  status: RunStatus,
  parentRunId: z.string().nullable().describe("the run that started this one; null at the top of the tree"),
  parentNode: z.string().nullable().describe("the node of the parent run that started this one"),
  rootRunId: z.string().describe("the top of the tree"),
  cancelRequested: z.boolean(),
  cancelRequest: CancelRequestView.nullable().describe(
    "who requested the run's cancel and why; null when none was",
  ),
  wakeAt: isoTime.nullable().describe("when a suspended run's durable timer comes due"),
  createdAt: isoTime,
  updatedAt: isoTime,
  moreChildren: z.boolean().describe("true when the run has more children than the tree carries"),
  get children() {
    return z.array(RunTreeNodeView);
  },
});
export const RunTreeView = RunTreeNodeView.extend({
  runs: z.number().int().describe("runs in the tree as answered, this one included"),
  truncated: z.boolean().describe("true when a bound (depth, runs, children per run) left runs out"),
});

/** A signal as journaled in a run: the `signal-receive` event's place and what it carried. */
export const SignalView = z.object({
  runId: z.string(),
  name: z.string(),
  seq: z.number().int().describe("the `signal-receive` event's sequence number"),
  at: isoTime,
  by: z.string().describe("who sent it"),
  duplicate: z.boolean().describe("true when the idempotency key repeated an earlier delivery"),
  resumed: z.boolean().describe("true when the run waited for this signal and is runnable again"),
});

/** A journal event as stored; its payload's schema depends on its type (docs/architecture.md). */
export const JournalEventView = z.object({
  runId: z.string(),
  seq: z.number().int(),
  type: z.enum(EVENT_TYPES),
  at: isoTime,
  payload: z.unknown(),
  schemaVersion: z.number().int(),
  payloadHash: z.string(),
  prevHash: z.string(),
  hash: z.string(),
}) as unknown as z.ZodType<JournalEvent>;

export const KillRecordView = z.object({
  scope: z.enum(["all", "tenant", "agent"]),
  target: z.string(),
  reason: z.string(),
  killedBy: z.string(),
  killedAt: isoTime,
});

/** One MCP tool of an agent: the listing a person approved and the one its server showed last. */
export const McpToolPinView = z.object({
  server: z.string(),
  tool: z.string(),
  status: z.enum(["approved", "refused"]),
  refusal: z.string().nullable(),
  approvedHash: z.string().nullable(),
  approvedBy: z.string().nullable(),
  approvedAt: isoTime.nullable(),
  approvedDefinition: z.record(z.string(), z.unknown()).nullable(),
  seenHash: z.string(),
  seenAt: isoTime,
  seenDefinition: z.record(z.string(), z.unknown()),
});

export const PoliciesView = z.object({
  agent: z.string(),
  version: z.string(),
  generation: z.number().int(),
  policies: z.array(
    z.object({
      id: z.string(),
      effect: z.string(),
      mode: z.string(),
      source: z.string(),
      reason: z.string().nullish(),
    }),
  ),
});
export const PolicyReloadView = z.object({
  agent: z.string(),
  version: z.string(),
  policies: z.number().int(),
  generation: z.number().int(),
});
export const ShadowReportView = z.looseObject({
  agent: z.string(),
  decisions: z.number().int(),
  changed: z.number().int(),
  byPolicy: z.array(
    z.looseObject({
      policy: z.string(),
      decisions: z.number().int(),
      wouldDeny: z.number().int(),
      wouldReview: z.number().int(),
      wouldAllow: z.number().int(),
    }),
  ),
  examples: z.array(record),
});

const AutonomyClassView = z.looseObject({
  tool: z.string(),
  policies: z.array(z.string()),
  description: z.string(),
  decided: z.number().int(),
  approvedUnchanged: z.number().int(),
  approvedEdited: z.number().int(),
  rejected: z.number().int(),
  expired: z.number().int(),
  rate: z.number(),
  interval: z.object({ low: z.number(), high: z.number() }),
  status: z.string(),
});

/** An agent's classes of held calls with their approval evidence, and the spec changes that evidence supports. */
export const AutonomyReportView = z.looseObject({
  agent: z.string(),
  version: z.string(),
  settings: z.object({ threshold: z.number(), minDecisions: z.number().int(), confidence: z.number() }),
  classes: z.array(AutonomyClassView),
  proposals: z.array(
    z.looseObject({
      kind: z.enum(["make-autonomous", "return-to-review"]),
      tool: z.string(),
      description: z.string(),
      reason: z.string(),
      evidence: AutonomyClassView,
      path: z.string(),
      before: record,
      after: record,
      yaml: z.string(),
      diff: z.string(),
    }),
  ),
});

const ShadowAgreement = { compared: z.number().int(), agreed: z.number().int(), rate: z.number().nullable() };
const ShadowArm = z.looseObject({
  runs: z.number().int(),
  statuses: z.record(z.string(), z.number().int()),
  costUsd: z.object({ total: z.number(), mean: z.number().nullable() }),
  latencyMs: z.object({ p50: z.number().nullable(), p95: z.number().nullable() }),
  guardFindings: z.number().int(),
  runsFlagged: z.number().int(),
});
const PeopleGroup = z.object({ key: z.string(), ...ShadowAgreement });

/** A candidate's shadow runs compared with the live runs they copied (docs/shadow.md). */
export const RolloutShadowReportView = z.looseObject({
  agent: z.string(),
  stableVersion: z.string(),
  candidateVersion: z.string(),
  since: isoTime.nullable(),
  until: isoTime.nullable(),
  grader: z
    .string()
    .describe("what graded answer agreement: normalized-match, or the agent's declared judge"),
  pairs: z.number().int().describe("live runs with an ended shadow of the candidate, both ended"),
  pending: z.number().int().describe("pairs with a run not yet ended"),
  answers: z.object(ShadowAgreement),
  trajectories: z.object({
    ...ShadowAgreement,
    perTool: z.array(
      z.object({
        tool: z.string(),
        live: z.number().int(),
        candidate: z.number().int(),
        sameArguments: z.number().int(),
      }),
    ),
  }),
  policyDecisions: z.object({
    ...ShadowAgreement,
    matrix: z
      .record(z.string(), z.record(z.string(), z.number().int()))
      .describe("rows: the live run's decision, columns: the candidate's"),
  }),
  shadowed: z
    .record(z.string(), z.number().int())
    .describe("how the candidate's side-effecting calls were answered instead of executed"),
  stable: ShadowArm,
  candidate: ShadowArm,
  people: z
    .object({
      ...ShadowAgreement,
      byTool: z.array(PeopleGroup),
      byDecision: z.array(PeopleGroup),
      byKind: z.array(PeopleGroup),
    })
    .describe("where a person decided on the live run: whether the candidate did what the person decided"),
});

export const SpanView = z.object({
  spanId: z.string(),
  parentSpanId: z.string().nullable(),
  name: z.string(),
  startMs: z.number(),
  endMs: z.number().nullable(),
  attributes: record,
  status: z.object({ code: z.string(), message: z.string().optional() }),
});
export const TraceView = z.looseObject({ runId: z.string(), traceId: z.string(), spans: z.array(SpanView) });
export const TraceRunView = z.looseObject({
  runId: z.string(),
  traceId: z.string(),
  agent: z.string(),
  agentVersion: z.string(),
  status: z.string(),
  startedAt: isoTime,
  durationMs: z.number().nullable(),
  costUsd: z.number(),
  path: z.array(z.string()),
});

export const FeedbackView = z.object({
  id: z.number().int(),
  runId: z.string(),
  agent: z.string(),
  version: z.string(),
  rating: z.enum(["up", "down"]),
  score: z.number(),
  comment: z.string().optional(),
  by: z.string(),
  at: isoTime,
});
export const EvalCaseView = z.object({ case: z.unknown().describe("an eval case (docs/evals.md)") });

/** Totals for a set of graded cases. */
const ScoreSummaryView = z.object({
  total: z.number().int(),
  passed: z.number().int(),
  failed: z.number().int(),
  errored: z.number().int(),
  passRate: z.number(),
  meanScore: z.number(),
});
/** The gate's verdict on an eval run (`keel eval --gate`). */
const EvalGateView = z.looseObject({
  passed: z.boolean(),
  passRate: z.number(),
  minScore: z.number(),
  maxRegression: z.number(),
  baseline: z
    .object({ id: z.string(), version: z.string(), delta: z.number(), pValue: z.number() })
    .nullable(),
  reasons: z.array(z.string()),
});
/** An eval run as stored, without its cases. */
export const EvalRunSummaryView = z.looseObject({
  id: z.string(),
  agent: z.string(),
  version: z.string(),
  model: z.string(),
  deterministic: z.boolean(),
  dataset: z.object({ name: z.string(), kind: z.string(), version: z.string(), file: z.string() }),
  startedAt: isoTime,
  finishedAt: isoTime,
  durationMs: z.number(),
  summary: ScoreSummaryView,
  byCategory: z.record(z.string(), ScoreSummaryView),
  advisoryJudges: z.array(z.string()).describe("judges whose grades did not count: not calibrated"),
  gate: EvalGateView.nullable().describe("null when the run was not gated"),
});
const GradeView = z.looseObject({
  grader: z.string(),
  kind: z.string(),
  passed: z.boolean(),
  score: z.number(),
  reason: z.string(),
  advisory: z.boolean().optional(),
  criteria: z.record(z.string(), z.boolean()).optional(),
});
/** One graded case of an eval run. */
export const EvalCaseResultView = z.looseObject({
  caseId: z.string(),
  category: z.string(),
  tags: z.array(z.string()),
  passed: z.boolean(),
  score: z.number(),
  grades: z.array(GradeView),
  run: z.looseObject({
    runId: z.string().nullable(),
    status: z.string(),
    answer: z.string().nullable(),
    costUsd: z.number(),
    latencyMs: z.number(),
  }),
  error: z.string().optional(),
});
export const EvalRunView = EvalRunSummaryView.extend({ cases: z.array(EvalCaseResultView) });
const GroupComparisonView = z.looseObject({
  paired: z.number().int(),
  baselinePassRate: z.number(),
  currentPassRate: z.number(),
  delta: z.number(),
  regressed: z.number().int(),
  improved: z.number().int(),
  pValue: z.number(),
  deltaInterval: z.object({ low: z.number(), high: z.number() }),
});
const CaseSideView = z
  .object({ passed: z.boolean(), score: z.number(), error: z.string().optional() })
  .nullable();
export const EvalComparisonView = z.object({
  current: EvalRunSummaryView,
  baseline: EvalRunSummaryView,
  overall: GroupComparisonView,
  byCategory: z.record(z.string(), GroupComparisonView),
  cases: z
    .array(
      z.object({
        caseId: z.string(),
        category: z.string(),
        change: z.enum(["regressed", "improved", "same", "added", "removed"]),
        baseline: CaseSideView,
        current: CaseSideView,
        scoreDelta: z
          .number()
          .nullable()
          .describe("current − baseline score; null when the case is in one run only"),
      }),
    )
    .describe(
      "every case of either run: changed verdicts first (regressions, then improvements), then by id",
    ),
});
const KappaIntervalView = z
  .object({ low: z.number(), high: z.number() })
  .describe("95% percentile bootstrap interval of κ (1,000 resamples, fixed seed)");
/** A judge's calibration against human labels, as `keel eval calibrate` stored it. */
export const JudgeCalibrationView = z.object({
  id: z.string(),
  agent: z.string(),
  version: z.string().describe("the agent version whose spec held the judge"),
  judge: z.string().describe("the judge as its grades name it, `judge.<name>`"),
  rubricHash: z.string().describe("SHA-256 of the rubric's canonical JSON"),
  labelsFile: z.string(),
  labelsHash: z.string().describe("SHA-256 of the labelled items' canonical JSON"),
  labels: z.number().int().describe("labelled items graded"),
  kappa: z.number().describe("Cohen's κ of the weakest criterion, the one that decides"),
  interval: KappaIntervalView,
  agreement: z.number().describe("share of that criterion's labels the judge matched"),
  trusted: z.boolean().describe("true: the judge's grades count; false: they are advisory"),
  criteria: z.array(
    z.object({
      criterion: z.string(),
      labels: z.number().int(),
      kappa: z.number(),
      interval: KappaIntervalView,
      agreement: z.number(),
      confusion: z
        .object({ labels: z.array(z.string()), matrix: z.array(z.array(z.number().int())) })
        .describe("rows: the people's label; columns: the judge's"),
      meetsBar: z.boolean(),
    }),
  ),
  reasons: z.array(z.string()).describe("why the judge is advisory; empty when it counts"),
  bar: z.object({ minKappa: z.number(), minLowerBound: z.number(), minLabels: z.number() }),
  calibratedAt: isoTime,
});

/** One daily budget counter: a cap a spec declares and what the ledger holds against it today. */
export const BudgetView = z.object({
  scope: z.string().describe("`agent:<name>` or `tenant:<id>`"),
  kind: z.enum(["agent", "tenant"]),
  period: z.string().describe("the UTC day"),
  declaredBy: z.array(z.string()).describe("the agents whose specs declare this cap"),
  limitUsd: z.number().nullable().describe("the lowest cap in US dollars the declaring specs set"),
  limitTokens: z.number().nullable(),
  spentUsd: z.number(),
  spentTokens: z.number(),
  reservedUsd: z.number().describe("held for model calls in flight"),
  reservedTokens: z.number(),
});

export const ApprovalView = z.object({
  id: z.string(),
  runId: z.string(),
  agent: z.string(),
  agentVersion: z.string(),
  kind: z.string(),
  tool: z.string().nullable(),
  status: z.string(),
  routeTo: z.string(),
  priority: z.string(),
  summary: z.string(),
  reasons: z.array(z.string()),
  arguments: z.unknown(),
  argumentsHash: z.string().nullable(),
  form: z.unknown().optional().describe("for a task: the JSON Schema of the form to fill in"),
  requestedBy: z.string(),
  requiredApprovals: z.number().int(),
  approvers: z.array(z.string()),
  approverRoles: z.array(z.string()),
  escalations: z.number().int(),
  edited: z.boolean(),
  requestedAt: isoTime,
  expiresAt: isoTime,
  overdue: z.boolean(),
  onTimeout: z.enum(["deny", "escalate"]),
  decidedAt: isoTime.nullable(),
  decidedBy: z.string().nullable(),
  links: z.object({ self: z.string(), decision: z.string(), run: z.string() }),
});
export const ApprovalDetailView = ApprovalView.extend({
  policies: z.array(z.string()),
  context: z.looseObject({
    agent: z.string(),
    agentVersion: z.string(),
    input: z.string(),
    step: z.number().int(),
    principal: z.looseObject({ subject: z.string(), tenant: z.string() }),
    dataClasses: z.array(z.string()),
    recent: z.array(z.string()),
  }),
  decisions: z.array(
    z.looseObject({
      decision: z.string(),
      by: z.looseObject({ subject: z.string() }),
      at: isoTime,
      comment: z.string().optional(),
      edited: z.unknown().optional(),
    }),
  ),
  expiries: z.array(z.looseObject({ outcome: z.string(), at: isoTime, routeTo: z.string().optional() })),
});
export const DecidedApprovalView = ApprovalDetailView.extend({
  resumed: z.boolean(),
  events: z.array(z.object({ seq: z.number().int(), type: z.string() })),
});

const count = z.number().int();
const rate = z.number().nullable();
export const ApprovalMetricsView = z.object({
  queueDepth: z.array(z.object({ routeTo: z.string(), pending: count, overdue: count })),
  byAgentTool: z.array(
    z.object({
      agent: z.string(),
      tool: z.string().nullable(),
      pending: count,
      overdue: count,
      approved: count,
      rejected: count,
      expired: count,
      resolved: count,
      withdrawn: count,
      approvalRate: rate,
      meanDecisionSeconds: rate,
      decisionSecondsP50: rate,
      decisionSecondsP95: rate,
      drafts: count,
      draftEditRate: rate,
    }),
  ),
  totals: z.object({ pending: count, overdue: count, decided: count, approvalRate: rate }),
});

export const RegistryEntryView = z.looseObject({
  agent: z.string(),
  version: z.string(),
  description: z.string(),
  riskTier: z.number(),
  owner: z.object({ team: z.string().nullable(), person: z.string().nullable() }),
  scope: z.looseObject({
    tools: z.array(z.looseObject({ name: z.string(), dataClasses: z.array(z.string()) })),
  }),
  status: z.string(),
  flags: z.array(z.string()),
  reviewDueAt: isoTime.nullable(),
  blockers: z.array(z.string()),
});
export const AttestationView = z.looseObject({
  id: z.number().int(),
  agent: z.string(),
  version: z.string(),
  gate: z.string(),
  attestedBy: z.string(),
  attestedAt: isoTime,
  evidence: z.string(),
  details: record,
});

export const KeyView = z.object({
  id: z.string(),
  tenant: z.string(),
  roles: z.array(z.string()),
  name: z.string(),
  createdAt: isoTime,
  createdBy: z.string(),
  lastUsedAt: isoTime.nullable(),
  revokedAt: isoTime.nullable(),
});

export const CheckpointView = z.object({
  checkpoint: z.looseObject({ treeSize: z.number().int(), keyId: z.string() }),
  publicKey: z
    .object({ keyId: z.string(), algorithm: z.literal("Ed25519"), publicKey: z.string() })
    .nullable(),
});

/** Loosely described reports: their fields are the computing module's (telemetry, registry, gateway). */
const ActivityPoint = z.object({
  at: isoTime.describe("the bucket's start"),
  started: count,
  completed: count,
  failed: count.describe("runs that ended failed or budget_exceeded"),
  p50LatencyMs: rate.describe("of the bucket's ended runs; null when none ended"),
  p95LatencyMs: rate,
});
export const ActivityView = z.object({
  bucket: z.enum(["minute", "hour", "day"]),
  since: isoTime,
  until: isoTime,
  series: z.array(ActivityPoint).describe("every bucket of the window, oldest first, empty ones included"),
  totals: ActivityPoint.extend({ ended: count, successRate: rate }),
  driftAlarms: z.array(
    z.object({ runId: z.string(), agent: z.string(), at: isoTime, dimensions: z.array(z.string()) }),
  ),
});

export const Report = record;
export const Reports = z.array(record);
