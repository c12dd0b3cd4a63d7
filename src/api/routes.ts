import { z } from "zod";
import type { ControlPlaneRole } from "../governance/index.ts";
import { RunStatus } from "../journal/events.ts";
import { AGENT_STATUSES, GATES } from "../registry/lifecycle-rules.ts";
import { ChatCompletionRequest } from "./chat-completion-request.ts";
import { type ApiRoute, defineRoutes } from "./define-route.ts";
import {
  count,
  decimal,
  flag,
  Identifier,
  instant,
  instantOf,
  seq,
  span,
  spanRange,
  text,
  usd,
  window,
} from "./fields.ts";
import { cursor } from "./list-cursor.ts";
import { DeploymentView, RolloutActionBody, RolloutStatusView, StartRolloutBody } from "./rollout-views.ts";
import {
  ActivityView,
  AgentView,
  ApprovalDetailView,
  ApprovalMetricsView,
  ApprovalView,
  AttestationView,
  AutonomyReportView,
  BudgetView,
  CheckpointView,
  CreatedRunView,
  DecidedApprovalView,
  EvalCaseView,
  EvalComparisonView,
  EvalRunSummaryView,
  EvalRunView,
  FeedbackView,
  HealthView,
  JournalEventView,
  JudgeCalibrationView,
  KeyView,
  KillRecordView,
  McpToolPinView,
  PoliciesView,
  PolicyReloadView,
  ReadinessView,
  RegistryEntryView,
  Report,
  Reports,
  RolloutShadowReportView,
  RunDetailView,
  RunTreeView,
  RunView,
  SessionDetailView,
  SessionRunView,
  SessionView,
  ShadowReportView,
  SignalView,
  TraceRunView,
  TraceView,
} from "./views.ts";

/** Every role that may read (besides admin): the reading half of each job. Invokers only see agents and runs. */
const READ: readonly ControlPlaneRole[] = ["viewer", "deployer", "approver", "operator"];
const READ_AND_INVOKE: readonly ControlPlaneRole[] = [...READ, "invoker"];

/** A count bounded to 1–500, for list limits. */
const limit = count.transform(Number).pipe(z.number().int().min(1).max(500));
/** Run ids, comma-separated, as a list of up to 500 identifiers. */
const runIds = z
  .string()
  .max(100_000)
  .transform((value) => value.split(","))
  .pipe(z.array(Identifier).min(1).max(500, "at most 500 run ids"));
/** An instant as the handler reads it. */
const at = instant.transform((value) => instantOf(value)!);

/**
 * The query of a newest-first listing that pages: its own fields, `cursor` (where the page before stopped) and
 * `before` (an instant, kept for callers that page by time). Not both: a cursor already says where to start.
 */
function pagedQuery<Shape extends z.ZodRawShape>(shape: Shape) {
  return z
    .strictObject({
      ...shape,
      cursor: cursor.optional().describe("the `nextCursor` of the page before: the way to page"),
      before: at
        .optional()
        .describe(
          "only rows created strictly before this instant (an ISO date-time or a duration back from now); page with `cursor`",
        ),
    })
    .refine(
      (query) =>
        (query as { cursor?: unknown }).cursor === undefined ||
        (query as { before?: unknown }).before === undefined,
      {
        path: ["cursor"],
        message: "give `cursor` or `before`, not both: a cursor already says where the page starts",
      },
    );
}
/** Where the next page starts, to send back as `cursor`; null on the last page. */
const NextCursor = z
  .string()
  .nullable()
  .describe("the `cursor` of the next page (opaque), or null when this page is the last");

const CreateRunBody = z.strictObject({
  input: z.string().min(1, "must not be empty").max(100_000),
  idempotencyKey: z.string().min(1).max(200).optional(),
  subject: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .optional()
    .describe(
      "who the run is about (its data subject): its personal journal fields are sealed under the subject's key, which `keel erase` destroys",
    ),
});
const ErasureResult = z.object({
  erased: z.object({
    keys: z.number().int(),
    runs: z.number().int(),
    sessions: z.number().int(),
    memories: z.number().int(),
    approvals: z.number().int(),
    sealedArguments: z.number().int(),
    annotations: z.number().int(),
  }),
  record: z.object({ runId: z.string(), subjectHash: z.string() }),
});
const CreateSessionBody = z
  .strictObject({
    subject: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .optional()
      .describe("who the thread is about (the end user); default: the caller's subject"),
    metadata: z
      .record(z.string().max(100), z.unknown())
      .refine((value) => JSON.stringify(value).length <= 16_384, "must be at most 16 KiB of JSON")
      .optional()
      .describe("any JSON object the caller wants kept with the session (at most 16 KiB)"),
  })
  .optional();
const SessionMessageBody = z.strictObject({
  input: z.string().min(1, "must not be empty").max(100_000),
  idempotencyKey: z.string().min(1).max(200).optional(),
});
const SignalBody = z
  .strictObject({
    payload: z.unknown().optional(),
    idempotencyKey: z.string().min(1).max(200).optional(),
  })
  .optional();
/** A bound of a tree read, as a query field. */
const treeBound = (max: number) => count.transform(Number).pipe(z.number().int().min(1).max(max));
const KillBody = z.strictObject({ reason: z.string().trim().min(1).max(500).optional() }).optional();
const KillResult = z.object({ killed: KillRecordView });
const ResumeResult = z.object({ resumed: z.object({ scope: z.string(), target: z.string() }) });
const FeedbackBody = z.strictObject({
  rating: z.enum(["up", "down"]),
  comment: z.string().trim().min(1).max(4_000).optional(),
});
const PromoteBody = z.strictObject({ expected: z.string().trim().min(1).max(4_000).optional() });
const DecisionBody = z.strictObject({
  decision: z.enum(["approve", "reject", "resolve"]),
  argumentsHash: z
    .string()
    .regex(/^[0-9a-f]{64}$/, "expected the 64-hex-digit hash shown with the request")
    .optional(),
  arguments: z.unknown().optional(),
  comment: z.string().trim().max(2_000).optional(),
  resolution: z.string().trim().min(1).max(20_000).optional(),
  values: z
    .record(z.string(), z.unknown())
    .optional()
    .describe("for a task (a workflow's approval node): the form filled in, checked against its JSON Schema"),
});
const AttestBody = z.strictObject({
  gate: z.enum(GATES as [string, ...string[]]),
  evidence: z.string().trim().min(1).max(2_000),
  details: z.record(z.string(), z.unknown()).optional(),
});
const StatusBody = z.strictObject({
  status: z.enum(AGENT_STATUSES as [string, ...string[]]),
  reason: z.string().trim().max(2_000).optional(),
});
const CreateKeyBody = z.strictObject({
  roles: z.array(z.string().min(1).max(128)).min(1).max(20),
  name: z.string().trim().min(1).max(100).optional(),
});

/**
 * The HTTP API, one declaration per route (define-route.ts). Static paths come before parameterised ones with the
 * same prefix, as the docs list them.
 */
export const API_ROUTES = defineRoutes({
  health: {
    method: "GET",
    path: "/healthz",
    roles: "public",
    response: HealthView,
    summary: "liveness and the store kind",
    description:
      "liveness: answers while the process runs, whatever the store's state, and names the store in use",
    success: '`200 {"ok":true,"store":"pglite"}`',
  },
  readiness: {
    method: "GET",
    path: "/readyz",
    roles: "public",
    response: ReadinessView,
    summary: "readiness: 503 while the store cannot answer",
    description:
      "readiness: whether the store answers a trivial query within 2 s and the server is not shutting down. Point a load balancer's or orchestrator's readiness probe here, the liveness probe at `/healthz`",
    success: '`200 {"ready":true}`; `503 {"ready":false,"reason":…}` with `Retry-After`',
  },
  openApi: {
    method: "GET",
    path: "/openapi.json",
    roles: "public",
    response: Report,
    summary: "this API as an OpenAPI 3.1 document",
    description:
      "this API as an OpenAPI 3.1 document: every route with its parameters, bodies, answers, roles and tenant scope. Needs no key: it describes the routes, never a tenant's data",
  },
  console: {
    method: "GET",
    path: "/",
    roles: "public",
    // A link may carry anything after `?`; the page reads nothing from it.
    query: z.object({}),
    response: z.string(),
    produces: "text/html",
    summary: "the operations console",
    description:
      "the operations console, a web page that calls this API as any client does ([console.md](console.md)). The page carries no tenant's data: with API keys it asks for one and shows what that key may see",
    success: "`200 text/html`; `503` when the console was not built",
  },
  consoleScript: {
    method: "GET",
    path: "/console/scripts/:file",
    roles: "public",
    response: z.string(),
    produces: "text/javascript",
    summary: "the console's script",
    description: "the console's bundled script, named by its content hash",
    success: "`200 text/javascript`",
  },
  consoleStyles: {
    method: "GET",
    path: "/console/styles/:file",
    roles: "public",
    response: z.string(),
    produces: "text/css",
    summary: "the console's style sheet",
    description: "the console's bundled style sheet, named by its content hash",
    success: "`200 text/css`",
  },
  metrics: {
    method: "GET",
    path: "/metrics",
    roles: READ,
    platform: true,
    response: z.string(),
    produces: "text/plain",
    summary: "Prometheus metrics of every tenant",
    description: "Prometheus metrics projected from the journal ([observability.md](observability.md))",
    success: "`200 text/plain`",
  },

  whoAmI: {
    method: "GET",
    path: "/v1/me",
    roles: READ_AND_INVOKE,
    response: z.object({
      subject: z.string(),
      tenant: z.string(),
      roles: z.array(z.string()),
      development: z.boolean(),
    }),
    summary: "who the caller is",
    description:
      "who the caller is: the key's subject, tenant and roles, and whether the server runs in development mode (no API keys, every request acts as the local developer). The console reads it to show only what the caller may do",
  },
  listAgents: {
    method: "GET",
    path: "/v1/agents",
    roles: READ_AND_INVOKE,
    response: z.object({ agents: z.array(AgentView) }),
    summary: "the tenant's agents",
    description:
      "the agents served, each with version, version hash, owner, risk tier, model (and whether it is an offline stand-in), tools and limits",
  },
  getAgent: {
    method: "GET",
    path: "/v1/agents/:name",
    roles: READ_AND_INVOKE,
    owns: { name: "agent" },
    response: AgentView,
    summary: "one agent",
  },
  createRun: {
    method: "POST",
    path: "/v1/agents/:name/runs",
    roles: ["invoker"],
    owns: { name: "agent" },
    body: CreateRunBody,
    response: CreatedRunView,
    status: 202,
    summary: "start a run",
    description:
      "start a run. A repeated `idempotencyKey` for the same agent returns the existing run. A W3C `traceparent` header continues the caller's trace",
    success: "`202` with the run and `Location: /v1/runs/{id}`; `200` for a repeated key",
  },
  listRuns: {
    method: "GET",
    path: "/v1/runs",
    roles: READ_AND_INVOKE,
    query: pagedQuery({
      agent: text.optional(),
      status: RunStatus.optional(),
      limit: limit.default(50),
      ids: runIds
        .optional()
        .describe(
          "only these runs, comma-separated (up to 500): the runs a trace search found, with their inputs and answers",
        ),
    }),
    response: z.object({ runs: z.array(RunView), nextCursor: NextCursor }),
    summary: "list runs",
    description:
      "newest runs first; `limit` 1–500 (default 50), `cursor` the `nextCursor` of the page before, `ids` the runs to read (another tenant's read as absent)",
  },
  getRun: {
    method: "GET",
    path: "/v1/runs/:id",
    roles: READ_AND_INVOKE,
    owns: { id: "run" },
    response: RunDetailView,
    summary: "one run",
    description: "a run's state: status, answer, error, event count, times",
  },
  runJournal: {
    method: "GET",
    path: "/v1/runs/:id/journal",
    roles: READ_AND_INVOKE,
    owns: { id: "run" },
    query: z.strictObject({ after: seq.optional() }),
    response: z.object({ runId: z.string(), events: z.array(JournalEventView) }),
    summary: "a run's events as JSON",
    description:
      "the run's events after `after` as JSON, as stored and hashed: the personal fields of a run with a data subject stay sealed (used by `keel journal verify`)",
  },
  runEvents: {
    method: "GET",
    path: "/v1/runs/:id/events",
    roles: READ_AND_INVOKE,
    owns: { id: "run" },
    query: z.strictObject({ after: seq.optional() }),
    response: z
      .string()
      .describe(
        "one SSE message per journal event (id its seq, event its type, data the event), and `text-delta` messages without an id carrying model text as it is written",
      ),
    produces: "text/event-stream",
    summary: "a run's events as SSE",
    description:
      "the run's journal as Server-Sent Events (below), after `Last-Event-ID` (header) or `after`, with its model turns' text streamed live as `text-delta` events when this process runs it",
    success: "`200 text/event-stream`",
  },
  cancelRun: {
    method: "POST",
    path: "/v1/runs/:id/cancel",
    roles: ["operator"],
    owns: { id: "run" },
    response: RunView,
    status: 202,
    summary: "cancel a run",
    description: "cancel a run that has not ended; its tool in flight is aborted",
    success: "`202` with the run; `409` when it has ended",
  },
  getRunTree: {
    method: "GET",
    path: "/v1/runs/:id/tree",
    roles: READ_AND_INVOKE,
    owns: { id: "run" },
    query: z.strictObject({
      depth: treeBound(64).optional(),
      runs: treeBound(10_000).optional(),
      children: treeBound(1_000).optional(),
    }),
    response: RunTreeView,
    summary: "a run and its child runs",
    description:
      "the run and, recursively, the child runs its nodes started (oldest first), each with its parent run and node. Bounded by `depth` (levels, default 16), `runs` (default 1,000) and `children` per run (default 100); `truncated` and `moreChildren` say where a bound left runs out",
  },
  sendSignal: {
    method: "POST",
    path: "/v1/runs/:id/signals/:name",
    roles: ["invoker", "operator"],
    owns: { id: "run" },
    body: SignalBody,
    response: SignalView,
    status: 202,
    summary: "send a run a signal",
    description:
      "deliver the named signal (a letter, then up to 63 letters, digits, `_`, `.` or `-`) with an optional JSON `payload`: journaled as `signal-receive`; a run suspended waiting for it becomes runnable. A signal the run does not wait for yet stays in its journal until it does. A repeated `idempotencyKey` answers the first delivery",
    success: "`202` with the journaled signal; `200` for a repeated key; `409` when the run has ended",
  },

  createSession: {
    method: "POST",
    path: "/v1/agents/:name/sessions",
    roles: ["invoker"],
    owns: { name: "agent" },
    body: CreateSessionBody,
    response: SessionView,
    status: 201,
    summary: "open a session",
    description:
      "open a session with an agent: a thread of runs for the caller, about `subject` (default the caller), with optional `metadata` ([sessions-and-memory.md](sessions-and-memory.md))",
    success: "`201` with the session and `Location: /v1/sessions/{id}`",
  },
  listSessions: {
    method: "GET",
    path: "/v1/sessions",
    roles: READ_AND_INVOKE,
    query: pagedQuery({
      agent: text.optional(),
      limit: limit.default(50),
    }),
    response: z.object({ sessions: z.array(SessionView), nextCursor: NextCursor }),
    summary: "list sessions",
    description:
      "the tenant's sessions, newest first; `agent` filters, `limit` 1–500 (default 50), `cursor` the `nextCursor` of the page before",
  },
  getSession: {
    method: "GET",
    path: "/v1/sessions/:id",
    roles: READ_AND_INVOKE,
    owns: { id: "session" },
    query: z.strictObject({
      tools: flag
        .optional()
        .describe(
          "`true` adds each turn's tool calls (`assistant` entries with `toolCalls`) and results (`tool` entries) between its input and answer, as journaled",
        ),
    }),
    response: SessionDetailView,
    summary: "one session and its messages",
    description:
      "the session with its `messages` in order (each turn's input as `user`, its answer as `assistant`; with `tools=true` also its tool calls and results), projected from its runs' journals, and its runs",
  },
  sendSessionMessage: {
    method: "POST",
    path: "/v1/sessions/:id/messages",
    roles: ["invoker"],
    owns: { id: "session" },
    body: SessionMessageBody,
    response: SessionRunView,
    status: 202,
    summary: "send a session a message",
    description:
      "start the session's next run with `input`; its model reads the earlier turns as the agent's context policy allows. A repeated idempotency key (`idempotencyKey` or the `Idempotency-Key` header) returns the run it started. A message while the session's previous run is still going is refused with 409",
    success:
      "`202` with the run, `runId`, `sessionId`, `turn` and `Location: /v1/runs/{id}`; `200` for a repeated key; `409` while the previous run goes on",
  },
  deleteSession: {
    method: "DELETE",
    path: "/v1/sessions/:id",
    roles: ["invoker", "operator"],
    owns: { id: "session" },
    response: z.object({ id: z.string(), deleted: z.literal(true) }),
    summary: "delete a session",
    description:
      "delete a session: it reads as absent (404) and takes no more messages. Its runs and their journals stay, as every run's do",
    success: "`200 {id, deleted: true}`; `404`",
  },
  eraseSubject: {
    method: "POST",
    path: "/v1/subjects/:subject/erase",
    roles: [],
    response: ErasureResult,
    summary: "erase a person's data",
    description:
      "erase a data subject of the caller's tenant: destroy its key (its runs' sealed journal fields read as erased; the journal and audit log still verify), delete its sessions and memories, blank the plain copies; journaled as a `keel.erasure` run ([sessions-and-memory.md](sessions-and-memory.md#erasure))",
    success: "`200` with what was erased (all zero for a subject Keel does not know)",
  },

  listKillSwitches: {
    method: "GET",
    path: "/v1/kill-switches",
    roles: READ,
    response: z.object({ killSwitches: z.array(KillRecordView) }),
    summary: "kill switches that apply to the tenant",
    description: "the kill switches thrown now that stop the caller's agents",
  },
  killAgent: {
    method: "POST",
    path: "/v1/agents/:name/kill",
    roles: ["operator"],
    owns: { name: "agent" },
    body: KillBody,
    response: KillResult,
    summary: "throw an agent's kill switch",
    description:
      "throw the agent's kill switch. When it answers, the agent's tool calls in flight in this process are aborted and no new action is allowed; other workers follow within a second",
  },
  resumeAgent: {
    method: "POST",
    path: "/v1/agents/:name/resume",
    roles: ["operator"],
    owns: { name: "agent" },
    response: ResumeResult,
    summary: "lift an agent's kill switch",
    success: "`200`, or `404` when none is thrown",
  },
  killTenant: {
    method: "POST",
    path: "/v1/tenants/:tenant/kill",
    roles: ["operator"],
    owns: { tenant: "tenant" },
    body: KillBody,
    response: KillResult,
    summary: "throw the tenant's kill switch (the platform tenant: any tenant's)",
    description:
      "throw the kill switch of every agent acting for a tenant (the caller's own; the platform tenant's keys: any)",
  },
  resumeTenant: {
    method: "POST",
    path: "/v1/tenants/:tenant/resume",
    roles: ["operator"],
    owns: { tenant: "tenant" },
    response: ResumeResult,
    summary: "lift the tenant's kill switch",
    success: "`200`, or `404` when none is thrown",
  },
  killAll: {
    method: "POST",
    path: "/v1/kill",
    roles: ["operator"],
    platform: true,
    body: KillBody,
    response: KillResult,
    summary: "stop everything",
  },
  resumeAll: {
    method: "POST",
    path: "/v1/resume",
    roles: ["operator"],
    platform: true,
    response: ResumeResult,
    summary: "lift the global switch",
    success: "`200`, or `404` when none is thrown",
  },

  agentPolicies: {
    method: "GET",
    path: "/v1/agents/:name/policies",
    roles: READ,
    owns: { name: "agent" },
    response: PoliciesView,
    summary: "an agent's policies",
    description:
      "the policies the governor holds for the agent's current version: id, effect (`permit`, `forbid`, `review`), mode, source, reason",
  },
  reloadPolicies: {
    method: "POST",
    path: "/v1/agents/:name/policies/reload",
    roles: ["deployer", "operator"],
    owns: { name: "agent" },
    response: PolicyReloadView,
    summary: "re-read an agent's policies",
    description:
      "re-read the agent's spec and Cedar files from disk and swap its policies in one step; the spec must still be the version served, and policies that do not load leave the old ones in place",
    success: "`200 {agent, version, policies, generation}`; `400`, `409`",
  },
  shadowReport: {
    method: "GET",
    path: "/v1/agents/:name/policies/shadow-report",
    roles: READ,
    owns: { name: "agent" },
    response: ShadowReportView,
    summary: "what shadow policies would change",
    description: "decisions where shadow policies would have decided otherwise, by policy, from the journal",
  },
  agentAutonomy: {
    method: "GET",
    path: "/v1/agents/:name/autonomy",
    roles: READ,
    owns: { name: "agent" },
    response: AutonomyReportView,
    summary: "autonomy proposals from approval history",
    description:
      "per class of held call, how people decided it (approved unchanged, edited, rejected, expired) with a Wilson interval, and the proposed changes to `governance.decisionAuthority` — to autonomous past the spec's `governance.autonomy` threshold, or back to review — as a diff for a person to apply; nothing is changed",
  },
  rolloutShadowReport: {
    method: "GET",
    path: "/v1/agents/:name/rollout/shadow-report",
    roles: ["operator"],
    owns: { name: "agent" },
    query: z.strictObject({
      candidate: text
        .optional()
        .describe(
          "the candidate version whose shadow runs are compared (default: the latest one with shadow runs)",
        ),
      stable: text.optional().describe("the live version they shadowed (default: the version served now)"),
      since: at.optional().describe("only live runs started at or after this instant"),
    }),
    response: RolloutShadowReportView,
    summary: "how a candidate's shadow runs compare with the live runs",
    description:
      "answer agreement, tool trajectories, policy decisions, cost, latency and guard findings of a candidate's shadow runs against the live runs of the stable version they copied, and the candidate's agreement with people's decisions on those live runs, from the journals",
    success: "`200` the report; `404` an agent of another tenant, or no shadow runs to compare",
  },

  checkDrift: {
    method: "POST",
    path: "/v1/telemetry/drift",
    roles: ["operator"],
    owns: { "?agent": "agent" },
    query: z.strictObject({
      agent: text,
      baseline: spanRange.default("8d..1d"),
      current: span.default("1d"),
      threshold: decimal
        .refine((value) => Number(value) > 0, "expected a positive number")
        .transform(Number)
        .optional(),
    }),
    response: Report,
    summary: "check an agent for drift",
    description: "a drift check of an agent's windows (durations back from now); an alarm is journaled",
  },
  runTrace: {
    method: "GET",
    path: "/v1/runs/:id/trace",
    roles: READ,
    owns: { id: "run" },
    response: TraceView,
    summary: "a run's span tree",
  },
  traceById: {
    method: "GET",
    path: "/v1/traces/:traceId",
    roles: READ,
    response: z.object({ traceId: z.string(), runs: z.array(TraceView) }),
    summary: "the tenant's runs of a trace",
  },
  searchTraces: {
    method: "GET",
    path: "/v1/traces",
    roles: READ,
    query: z.strictObject({
      agent: text.optional(),
      since: instant.optional(),
      until: instant.optional(),
      version: text.optional(),
      status: text.optional(),
      policy: text.optional(),
      path: z.string().min(1).max(2_000).optional(),
      tool: z.string().min(1).max(2_000).optional(),
      errors: flag.optional(),
      escalated: flag.optional(),
      minRetries: count.optional(),
      minCost: usd.optional(),
      maxCost: usd.optional(),
      minLatencyMs: decimal.optional(),
      maxLatencyMs: decimal.optional(),
      tree: text.optional().describe("only runs of the tree under this run (itself and its descendants)"),
      limit: count.optional(),
    }),
    response: z.object({ runs: z.array(TraceRunView) }),
    summary: "decision-path search over the tenant's runs",
    description:
      "runs whose decision path (`path=issue_refund:denied>issue_refund:approved`) and numbers match, newest first",
  },
  costs: {
    method: "GET",
    path: "/v1/costs",
    roles: READ,
    query: z.strictObject({
      ...optionalFields(window),
      tree: text.optional().describe("only the calls of runs in the tree under this run"),
      by: text.optional().describe("some of agent, model, phase, day, comma-separated (default agent)"),
    }),
    response: z.object({ by: z.array(z.string()), costs: Reports }),
    summary: "the tenant's costs",
    description: "cost rollups by agent, model, phase or day",
  },
  topRuns: {
    method: "GET",
    path: "/v1/telemetry/top",
    roles: READ,
    query: z.strictObject({
      ...optionalFields(window),
      by: text.optional().describe("cost (default) or duration"),
      limit: count.optional(),
    }),
    response: z.object({ by: z.string(), runs: Reports }),
    summary: "the tenant's costliest or slowest runs",
  },
  percentiles: {
    method: "GET",
    path: "/v1/telemetry/percentiles",
    roles: READ,
    query: z.strictObject(optionalFields(window)),
    response: z.object({ agents: Reports }),
    summary: "latency and cost percentiles",
    description: "p50, p95 and p99 of latency and cost per agent version",
  },
  rates: {
    method: "GET",
    path: "/v1/telemetry/rates",
    roles: READ,
    query: z.strictObject(optionalFields(window)),
    response: z.object({ agents: Reports }),
    summary: "rates per agent",
    description: "cost per resolved run, escalation, error and tool-failure rates per agent",
  },
  budgets: {
    method: "GET",
    path: "/v1/budgets",
    roles: READ,
    response: z.object({ day: z.string(), budgets: z.array(BudgetView) }),
    summary: "the tenant's daily budgets: spent against each cap",
    description:
      "each per-day cap the tenant's agents declare (`budgets.perAgentPerDay`, `budgets.perTenantPerDay`): what the budget ledger holds as spent and reserved for the current UTC day, against the cap",
  },
  activity: {
    method: "GET",
    path: "/v1/telemetry/activity",
    roles: READ,
    query: z.strictObject({
      ...optionalFields(window),
      bucket: z
        .enum(["minute", "hour", "day"])
        .optional()
        .describe("minute, hour or day (default: minute up to 3 h, hour up to 8 d, else day)"),
    }),
    response: ActivityView,
    summary: "runs over time",
    description:
      "per bucket of a window (default the last hour): runs started, completed and failed, p50/p95 latency; with totals and the window's drift alarms",
  },

  rateRun: {
    method: "POST",
    path: "/v1/runs/:id/feedback",
    roles: ["invoker", "approver", "operator"],
    owns: { id: "run" },
    body: FeedbackBody,
    response: FeedbackView,
    status: 201,
    summary: "rate a run",
    description: "rate a run up or down, stored as a score ([evals.md](evals.md))",
  },
  runScores: {
    method: "GET",
    path: "/v1/runs/:id/scores",
    roles: READ,
    owns: { id: "run" },
    response: z.object({ runId: z.string(), events: Reports }),
    summary: "a run's scores",
    description: "the run's evaluation and feedback events",
  },
  promoteFeedback: {
    method: "POST",
    path: "/v1/feedback/:id/promote",
    roles: ["deployer"],
    owns: { id: "feedback" },
    body: PromoteBody,
    response: EvalCaseView,
    summary: "a rated run as an eval case",
    description: "a rated run as an eval case (`expected` is required for a thumbs-down)",
  },
  runEvalCase: {
    method: "GET",
    path: "/v1/runs/:id/eval-case",
    roles: READ,
    owns: { id: "run" },
    response: EvalCaseView,
    summary: "a run as an eval case",
    description: "the run as a redacted eval case",
  },
  agentScores: {
    method: "GET",
    path: "/v1/agents/:name/scores",
    roles: READ,
    owns: { name: "agent" },
    query: z.strictObject({
      type: z.enum(["evaluation", "feedback"]).default("evaluation"),
      bucket: z.enum(["day", "hour"]).default("day"),
      since: at.optional(),
    }),
    response: z.object({ agent: z.string(), type: z.string(), bucket: z.string(), series: Reports }),
    summary: "an agent's scores over time",
    description:
      "an agent's evaluation (default) or feedback scores per day or hour: count, mean score, pass rate",
  },
  evalGate: {
    method: "GET",
    path: "/v1/agents/:name/versions/:version/eval-gate",
    roles: READ,
    owns: { name: "agent" },
    response: z.looseObject({ passed: z.boolean(), datasets: Reports }),
    summary: "the latest eval gate verdict",
    description: "the latest gated eval verdict per dataset: what the lifecycle gate reads",
    success: "`200 {passed, datasets}`; `404` when never gated",
  },
  listEvalRuns: {
    method: "GET",
    path: "/v1/agents/:name/eval-runs",
    roles: READ,
    owns: { name: "agent" },
    query: z.strictObject({
      dataset: text.optional(),
      version: text.optional(),
      limit: limit.default(50),
    }),
    response: z.object({ agent: z.string(), runs: z.array(EvalRunSummaryView) }),
    summary: "an agent's stored eval runs",
    description:
      "the agent's eval runs stored in the database (`keel eval` with `DATABASE_URL`), newest first: totals overall and per category and the gate's verdict, without the cases",
  },
  getEvalRun: {
    method: "GET",
    path: "/v1/agents/:name/eval-runs/:id",
    roles: READ,
    owns: { name: "agent" },
    response: EvalRunView,
    summary: "one stored eval run with its cases",
    description: "one eval run of the agent with every case's grades, score and what its run did",
    success: "`200`; `404` when the agent has no such eval run",
  },
  compareEvalRuns: {
    method: "GET",
    path: "/v1/agents/:name/eval-runs/:id/comparison",
    roles: READ,
    owns: { name: "agent" },
    query: z.strictObject({
      baseline: text
        .optional()
        .describe(
          "the baseline eval run's id (default: as `keel eval` picks it, the latest run of the dataset by another version that passed its gate)",
        ),
    }),
    response: EvalComparisonView,
    summary: "two eval runs compared case by case",
    description:
      "the eval run against a baseline eval run of the same agent, as `keel eval --baseline` compares them: pass rates, delta and McNemar's test overall and per category, and each case's verdict and score in both",
    success:
      "`200`; `404` when either eval run is not the agent's, or no baseline was named and none passed a gate",
  },
  listJudgeCalibrations: {
    method: "GET",
    path: "/v1/agents/:name/judge-calibrations",
    roles: READ,
    owns: { name: "agent" },
    query: z.strictObject({
      judge: text.optional().describe("one judge, as its grades name it: `judge.<name>`"),
      limit: limit.default(50),
    }),
    response: z.object({ agent: z.string(), calibrations: z.array(JudgeCalibrationView) }),
    summary: "an agent's stored judge calibrations",
    description:
      "the agreement of the agent's LLM judges with human labels, as `keel eval calibrate` stored it (with `DATABASE_URL`), newest first: κ, its interval and the agreement of the weakest criterion, every criterion's confusion matrix, and whether the judge counts or is advisory",
  },

  listApprovals: {
    method: "GET",
    path: "/v1/approvals",
    roles: READ,
    query: z.strictObject({
      status: z
        .enum(["pending", "approved", "rejected", "expired", "resolved", "withdrawn", "all"])
        .default("pending"),
      team: text.optional(),
      agent: text.optional(),
      tool: text.optional(),
      kind: z.enum(["tool-call", "draft", "handoff", "guard", "task", "delegation"]).optional(),
      run: text.optional(),
      overdue: flag.optional(),
      limit: limit.default(50),
    }),
    response: z.object({ approvals: z.array(ApprovalView) }),
    summary: "the tenant's approval queue",
    description:
      "the approval queue ([approvals.md](approvals.md)): pending requests (default) most urgent, then soonest due, first; `status=all` for every status",
  },
  approvalMetrics: {
    method: "GET",
    path: "/v1/approvals/metrics",
    roles: READ,
    response: ApprovalMetricsView,
    summary: "the tenant's queue health: depth, approval rate, time to decision",
    description:
      "the tenant's queue: depth and overdue per team; per agent and tool counts, approval rate, time to decision, draft edit rate (every tenant's, for Prometheus, on `GET /metrics`)",
  },
  getApproval: {
    method: "GET",
    path: "/v1/approvals/:id",
    roles: READ,
    owns: { id: "approval" },
    response: ApprovalDetailView,
    summary: "one approval request",
    description:
      "one request: summary, reasons, policies, the call (redacted arguments and their hash), the run's context, every decision and expiry",
  },
  decideApproval: {
    method: "POST",
    path: "/v1/approvals/:id/decision",
    roles: ["approver"],
    owns: { id: "approval" },
    body: DecisionBody,
    response: DecidedApprovalView,
    summary: "approve, reject or resolve",
    description:
      "approve, reject or resolve; the approver is the API key (in development mode, `X-Keel-Subject` and `X-Keel-Roles`); a task (a workflow's approval node) is approved with its form filled in as `values`",
    success:
      "`200` with the request and `resumed`; `400` (a task's `values` that do not fit its form, naming the field); `401`, `403` (requester, role), `409` (decided, stale hash, same approver twice)",
  },
  promoteApproval: {
    method: "POST",
    path: "/v1/approvals/:id/promote",
    roles: ["approver", "deployer"],
    owns: { id: "approval" },
    response: EvalCaseView,
    summary: "a decided request as an eval case",
    description: "a decided request as an eval case (source `escalation`)",
  },

  registry: {
    method: "GET",
    path: "/v1/registry",
    roles: READ,
    response: z.object({ agents: z.array(RegistryEntryView), summary: Report }),
    summary: "the tenant's registered agent versions",
    description:
      "every registered agent version: owner, tier, scope, status, flags (`orphan`, `review_overdue`, `ad_hoc_review`, `scope_change`), next review, what blocks activation",
  },
  registryAgent: {
    method: "GET",
    path: "/v1/registry/:agent",
    roles: READ,
    owns: { agent: "agent" },
    response: z.object({
      agent: z.string(),
      latest: RegistryEntryView,
      versions: z.array(RegistryEntryView),
      attestations: z.array(AttestationView),
      history: Reports,
    }),
    summary: "an agent's versions and history",
    description: "an agent's versions, the latest one's attestations, and its history",
  },
  registryCard: {
    method: "GET",
    path: "/v1/registry/:agent/card",
    roles: READ,
    owns: { agent: "agent" },
    query: z.strictObject({ version: text.optional() }),
    response: z.string(),
    produces: "text/plain",
    summary: "an agent's one-page registry card",
    success: "`200 text/plain`",
  },
  attest: {
    method: "POST",
    path: "/v1/registry/:agent/versions/:version/attestations",
    roles: ["deployer"],
    owns: { agent: "agent" },
    body: AttestBody,
    response: AttestationView,
    status: 201,
    summary: "attest a deployment gate",
    description:
      "attest a deployment gate (who: the API key; in development mode `X-Keel-Subject`); `eval_results` without a score takes the stored gated eval runs",
    success: "`201`; `400` (unknown gate, eval score below threshold, unapproved cost)",
  },
  setStatus: {
    method: "POST",
    path: "/v1/registry/:agent/versions/:version/status",
    roles: ["deployer"],
    owns: { agent: "agent" },
    body: StatusBody,
    response: RegistryEntryView,
    summary: "move a version through its lifecycle",
    description: "move a version through its lifecycle; `active` needs an owner and every gate of the tier",
    success: "`200`; `409` naming the blockers",
  },
  recordReview: {
    method: "POST",
    path: "/v1/registry/:agent/versions/:version/reviews",
    roles: ["deployer"],
    owns: { agent: "agent" },
    body: z.strictObject({ evidence: z.string().trim().min(1).max(2_000) }),
    response: RegistryEntryView,
    summary: "record a review",
  },
  reportIncident: {
    method: "POST",
    path: "/v1/registry/:agent/incidents",
    roles: ["deployer", "operator"],
    owns: { agent: "agent" },
    body: z.strictObject({ description: z.string().trim().min(1).max(5_000) }),
    response: z.object({ versions: z.array(RegistryEntryView) }),
    summary: "report an incident",
    description: "report an incident; asks for an ad-hoc review of the agent's versions",
  },
  setOwner: {
    method: "PUT",
    path: "/v1/registry/:agent/versions/:version/owner",
    roles: ["deployer"],
    owns: { agent: "agent" },
    body: z.strictObject({
      team: z.string().trim().min(1).nullable(),
      person: z.string().trim().min(1).nullable(),
    }),
    response: RegistryEntryView,
    summary: "change a version's owner",
    description: "change a version's owner (no owner pauses an active version)",
  },

  startRollout: {
    method: "POST",
    path: "/v1/agents/:name/rollout",
    roles: ["deployer"],
    owns: { name: "agent" },
    body: StartRolloutBody,
    response: DeploymentView,
    status: 201,
    summary: "start a rollout of a candidate version",
    description:
      "start moving traffic to a candidate version by a strategy (direct, shadow, canary, ab): [rollout.md](rollout.md)",
    success: "`201`; `400` (a version not loaded, or the one serving); `409` (a rollout already in progress)",
  },
  rolloutStatus: {
    method: "GET",
    path: "/v1/agents/:name/rollout",
    roles: READ,
    owns: { name: "agent" },
    response: RolloutStatusView,
    summary: "an agent's rollout",
    description:
      "the version serving, the newest deployment with its history, and the current stage's verdict",
  },
  promoteRollout: {
    method: "POST",
    path: "/v1/agents/:name/rollout/promote",
    roles: ["deployer"],
    owns: { name: "agent" },
    body: RolloutActionBody,
    response: DeploymentView,
    summary: "give the candidate every new run now",
    success: "`200`; `409` when the rollout is not in a state that allows it",
  },
  pauseRollout: {
    method: "POST",
    path: "/v1/agents/:name/rollout/pause",
    roles: ["deployer", "operator"],
    owns: { name: "agent" },
    body: RolloutActionBody,
    response: DeploymentView,
    summary: "hold the split: every new run goes to stable until resumed",
    success: "`200`; `409` when the rollout is not in a state that allows it",
  },
  resumeRollout: {
    method: "POST",
    path: "/v1/agents/:name/rollout/resume",
    roles: ["deployer", "operator"],
    owns: { name: "agent" },
    body: RolloutActionBody,
    response: DeploymentView,
    summary: "resume a paused rollout at its stage",
    success: "`200`; `409` when the rollout is not in a state that allows it",
  },
  abortRollout: {
    method: "POST",
    path: "/v1/agents/:name/rollout/abort",
    roles: ["deployer", "operator"],
    owns: { name: "agent" },
    body: RolloutActionBody,
    response: DeploymentView,
    summary: "stop the rollout; stable keeps every new run",
    success: "`200`; `409` when the rollout is not in a state that allows it",
  },
  rollbackRollout: {
    method: "POST",
    path: "/v1/agents/:name/rollout/rollback",
    roles: ["deployer", "operator"],
    owns: { name: "agent" },
    body: RolloutActionBody,
    response: DeploymentView,
    summary: "return every new run to stable (also after a promotion)",
    success: "`200`; `409` when the rollout is not in a state that allows it",
  },

  chatCompletions: {
    method: "POST",
    path: "/v1/chat/completions",
    roles: ["invoker"],
    maxBodyBytes: 4 * 1024 * 1024,
    body: ChatCompletionRequest,
    response: Report.describe("an OpenAI chat completion, or with `stream: true` its chunks as SSE"),
    summary: "the governed model endpoint",
    description:
      "the governed model endpoint, OpenAI-compatible, errors in OpenAI's shape: [models.md](models.md#the-governed-endpoint)",
  },

  listMcpTools: {
    method: "GET",
    path: "/v1/agents/:name/mcp-tools",
    roles: READ,
    owns: { name: "agent" },
    response: z.object({ agent: z.string(), tools: z.array(McpToolPinView) }),
    summary: "an agent's MCP tools and their pins",
    description:
      "the agent's MCP tools: the listing a person approved, the one each server showed last, and why a tool is refused ([connectors.md](connectors.md#tool-pinning))",
  },
  approveMcpTool: {
    method: "POST",
    path: "/v1/agents/:name/mcp-tools/:server/:tool/approval",
    roles: ["deployer"],
    owns: { name: "agent" },
    body: z.strictObject({
      hash: z
        .string()
        .regex(/^sha256:[0-9a-f]{64}$/, "expected the listing's hash, sha256:<64 hex digits>")
        .describe("The hash of the listing reviewed, as `GET …/mcp-tools` shows it in `seenHash`."),
    }),
    response: McpToolPinView,
    summary: "approve an MCP tool's listing",
    description:
      "approve the listing an MCP tool shows now, named by its hash: calls to it are allowed again ([connectors.md](connectors.md#tool-pinning))",
    success: "`200` with the tool's pin; `409` when the server shows another listing by now",
  },

  // Model Context Protocol over streamable HTTP, stateless: each POST carries whole JSON-RPC messages and is
  // answered in JSON; there is no server-initiated stream and no MCP session to end (docs/connectors.md).
  mcp: {
    method: "POST",
    path: "/mcp",
    roles: ["invoker"],
    maxBodyBytes: 4 * 1024 * 1024,
    body: z
      .union([
        z.looseObject({ jsonrpc: z.literal("2.0") }),
        z.array(z.looseObject({ jsonrpc: z.literal("2.0") })).min(1),
      ])
      .describe("one JSON-RPC 2.0 message of the Model Context Protocol, or a batch of them"),
    response: Report.describe("the JSON-RPC answer"),
    summary: "the MCP server",
    description:
      "Keel as an MCP server: `tools/list` lists each agent of the caller's tenant as a tool, `tools/call` runs it and answers its answer, or that it waits for approval ([connectors.md](connectors.md#keel-as-an-mcp-server))",
    success: "`200` with the JSON-RPC answer; `202` for notifications",
  },
  mcpStream: {
    method: "GET",
    path: "/mcp",
    roles: ["invoker"],
    response: Report,
    summary: "no MCP stream (405)",
    description:
      "answers `405`: the MCP server is stateless and sends nothing unasked, which MCP clients accept ([connectors.md](connectors.md#keel-as-an-mcp-server))",
    success: "`405`",
  },
  mcpEnd: {
    method: "DELETE",
    path: "/mcp",
    roles: ["invoker"],
    response: Report,
    summary: "no MCP session to end (405)",
    description:
      "answers `405`: the MCP server keeps no sessions ([connectors.md](connectors.md#keel-as-an-mcp-server))",
    success: "`405`",
  },

  // Agent2Agent protocol (v1.0, JSON-RPC binding): each agent of the caller's tenant is an A2A agent whose tasks are
  // its runs (docs/connectors.md).
  a2aAgentCard: {
    method: "GET",
    path: "/a2a/:agent/.well-known/agent-card.json",
    roles: READ_AND_INVOKE,
    owns: { agent: "agent" },
    response: Report.describe("the agent's A2A Agent Card"),
    summary: "an agent's A2A Agent Card",
    description:
      "the agent's A2A Agent Card: its JSON-RPC address, streaming, its one skill and, with API keys, the bearer scheme ([connectors.md](connectors.md#keel-as-an-a2a-agent))",
  },
  a2a: {
    method: "POST",
    path: "/a2a/:agent",
    roles: ["invoker"],
    owns: { agent: "agent" },
    maxBodyBytes: 4 * 1024 * 1024,
    body: z.looseObject({}).describe("one JSON-RPC 2.0 request of the A2A protocol"),
    response: Report.describe(
      "the JSON-RPC answer, or for `SendStreamingMessage` and `SubscribeToTask` its events as SSE",
    ),
    summary: "an agent as an A2A agent",
    description:
      "A2A JSON-RPC: `SendMessage` and `SendStreamingMessage` start a run of the agent and answer its task, `GetTask`, `SubscribeToTask` and `CancelTask` read, follow and cancel it ([connectors.md](connectors.md#keel-as-an-a2a-agent))",
    success: "`200` with the JSON-RPC answer (errors too, as JSON-RPC errors)",
  },

  // One audit log holds every tenant's events: a checkpoint's tree size and a proof's leaf index count them all,
  // so both routes belong to the platform (docs/security.md, "Audit log").
  latestCheckpoint: {
    method: "GET",
    path: "/v1/audit/checkpoints/latest",
    roles: READ,
    platform: true,
    response: CheckpointView,
    summary: "the latest signed checkpoint",
    description:
      "the audit log's latest signed checkpoint and its key ([security.md](security.md#audit-log)); the log spans every tenant, so its size counts everyone's events",
  },
  auditProof: {
    method: "GET",
    path: "/v1/audit/proof",
    roles: READ,
    platform: true,
    query: z.strictObject({
      runId: text,
      seq: z.string().regex(/^[1-9]\d{0,8}$/, "expected a positive integer"),
    }),
    response: CheckpointView.extend({
      runId: z.string(),
      seq: z.number().int(),
      leafIndex: z.number().int(),
      treeSize: z.number().int(),
      leaf: z.string(),
      leafHash: z.string(),
      path: z.array(z.string()),
    }),
    summary: "an inclusion proof for any event",
    description: "an event's inclusion proof against the latest checkpoint",
    success: "`200`; `409` until a checkpoint covers the event",
  },

  listKeys: {
    method: "GET",
    path: "/v1/keys",
    roles: [],
    response: z.object({ keys: z.array(KeyView) }),
    summary: "the tenant's API keys (never their secrets)",
    description:
      "the tenant's API keys: id, roles, name, creator, created, last used, revoked (never a secret)",
  },
  createKey: {
    method: "POST",
    path: "/v1/keys",
    roles: [],
    body: CreateKeyBody,
    response: KeyView.extend({ secret: z.string().describe("shown this once") }),
    status: 201,
    summary: "create a key in the tenant (secret shown once)",
    description: "create a key in the caller's tenant; the response's `secret` is shown this once",
  },
  revokeKey: {
    method: "DELETE",
    path: "/v1/keys/:id",
    roles: [],
    owns: { id: "key" },
    response: KeyView,
    summary: "revoke a key",
    description: "revoke a key of the tenant; servers refuse it at once here, within 10 s elsewhere",
    success: "`200`; `404`",
  },
});

/** The routes in declaration order: what the gate, the docs and the OpenAPI document walk. */
export const API_ROUTE_LIST: readonly ApiRoute[] = Object.values(API_ROUTES);

/** The names of the API's routes. */
export type RouteName = keyof typeof API_ROUTES;

function optionalFields<Fields extends Record<string, z.ZodType>>(
  fields: Fields,
): { [Name in keyof Fields]: z.ZodOptional<Fields[Name]> } {
  return Object.fromEntries(Object.entries(fields).map(([name, schema]) => [name, schema.optional()])) as {
    [Name in keyof Fields]: z.ZodOptional<Fields[Name]>;
  };
}
