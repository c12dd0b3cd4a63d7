import { z } from "zod";

/** Version of the event vocabulary; bumped when a payload changes shape. Stored on every event. */
export const JOURNAL_SCHEMA_VERSION = 1;

/** Terminal and non-terminal states a run can be in. */
export const RunStatus = z.enum([
  "queued",
  "running",
  "suspended",
  "completed",
  "failed",
  "cancelled",
  "budget_exceeded",
]);
export type RunStatus = z.infer<typeof RunStatus>;

/** Statuses a run never leaves. */
export const TERMINAL_STATUSES: ReadonlySet<RunStatus> = new Set([
  "completed",
  "failed",
  "cancelled",
  "budget_exceeded",
]);

const JsonValue: z.ZodType<unknown> = z.unknown();

/** Who asked for the run. Filled in by the control plane; the governor issue adds roles and tenants. */
export const Principal = z.strictObject({
  subject: z.string(),
  tenant: z.string().default("default"),
  roles: z.array(z.string()).default([]),
});
export type Principal = z.infer<typeof Principal>;

/**
 * Tokens of one model call, normalised across providers: `inputTokens` counts every prompt token including
 * cache reads and writes (OpenAI's convention; Anthropic's `input_tokens` excludes them), `outputTokens`
 * includes reasoning tokens.
 */
export const Usage = z.strictObject({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  cacheReadTokens: z.number().int().nonnegative().optional(),
  cacheWriteTokens: z.number().int().nonnegative().optional(),
  reasoningTokens: z.number().int().nonnegative().optional(),
});
export type Usage = z.infer<typeof Usage>;

export const ToolCallRequest = z.strictObject({
  callId: z.string().min(1),
  tool: z.string().min(1),
  arguments: JsonValue,
});
export type ToolCallRequest = z.infer<typeof ToolCallRequest>;

/** One message a session's run carries from an earlier turn (`context-carry`), in the model's message form. */
export const CarriedMessage = z.union([
  z.strictObject({ role: z.literal("user"), content: z.string(), turn: z.number().int() }),
  z.strictObject({
    role: z.literal("assistant"),
    content: z.string(),
    turn: z.number().int(),
    toolCalls: z.array(ToolCallRequest).min(1).optional(),
  }),
  z.strictObject({
    role: z.literal("tool"),
    turn: z.number().int(),
    callId: z.string().min(1),
    tool: z.string().min(1),
    content: JsonValue,
    isError: z.boolean(),
  }),
]);
export type CarriedMessage = z.infer<typeof CarriedMessage>;

/** What the model decided on one turn: call tools, or answer. */
export const ModelDecision = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("tool-calls"),
    calls: z.array(ToolCallRequest).min(1),
    text: z.string().optional(),
  }),
  z.strictObject({ kind: z.literal("answer"), text: z.string() }),
]);
export type ModelDecision = z.infer<typeof ModelDecision>;

export const ErrorInfo = z.strictObject({
  code: z.string(),
  message: z.string(),
  retryable: z.boolean().optional(),
});
export type ErrorInfo = z.infer<typeof ErrorInfo>;

/**
 * Why the gateway asked the model this turn: the run's first turn plans, a turn after a tool error recovers, and a
 * `context_summary` call folds a session's oldest turns into a summary so the thread fits the model's window.
 */
export const ModelCallPhase = z.enum(["planning", "execution", "error_recovery", "context_summary"]);
export type ModelCallPhase = z.infer<typeof ModelCallPhase>;

/** The price of one call, stamped with the price table it came from. */
export const CallCost = z.strictObject({
  usd: z.number().nonnegative(),
  priceTableVersion: z.string(),
  /**
   * `table`, `override` (from config), `self-hosted` (priced at 0), `unpriced` (model not in the table), or
   * `response-cache` (answered by the exact response cache: no call, no cost).
   */
  source: z.enum(["table", "override", "self-hosted", "unpriced", "response-cache"]),
});
export type CallCost = z.infer<typeof CallCost>;

/** One try against one target, in the order the gateway made them. */
export const ModelCallAttempt = z.strictObject({
  provider: z.string(),
  model: z.string(),
  outcome: z.enum(["ok", "error", "skipped"]),
  errorClass: z.string().optional(),
  message: z.string().optional(),
  durationMs: z.number().nonnegative(),
});
export type ModelCallAttempt = z.infer<typeof ModelCallAttempt>;

/** A budget's counter: which scope (run, agent, tenant) and which period it counts. */
const BudgetScopeRef = z.strictObject({
  scope: z.string(),
  period: z.string(),
  limitUsd: z.number().nonnegative().optional(),
  limitTokens: z.number().int().nonnegative().optional(),
});

/**
 * What a person is asked to decide: a held tool call, an outbound draft to edit and send, a whole run handed off,
 * content an injection guard flagged (the run's input or a tool result) before the model reads it, or a workflow's
 * human task (an `approval` node), approved with the form it asks for filled in.
 */
export const ApprovalKind = z.enum(["tool-call", "draft", "handoff", "guard", "task", "delegation"]);
export type ApprovalKind = z.infer<typeof ApprovalKind>;

/** How urgent an approval request is; the queue sorts by it, and an escalation raises it. */
export const ApprovalPriority = z.enum(["low", "normal", "high", "urgent"]);
export type ApprovalPriority = z.infer<typeof ApprovalPriority>;

/** Where a child run sits in its run tree: the run and node that started it, and the tree's top run. */
export const RunParent = z.strictObject({
  runId: z.string().min(1),
  node: z.string().min(1),
  rootRunId: z.string().min(1),
});
export type RunParent = z.infer<typeof RunParent>;

/** One per-run cap of a run above this one in its tree; a child's model calls count against it as against its own. */
export const ParentBudget = z.strictObject({
  runId: z.string().min(1),
  usd: z.number().positive().optional(),
  tokens: z.number().int().positive().optional(),
});
export type ParentBudget = z.infer<typeof ParentBudget>;

/** A signal's name: a short identifier, so it is safe in a URL path, a log line and a workflow spec. */
export const SignalName = z
  .string()
  .regex(
    /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/,
    "a signal name is a letter then up to 63 letters, digits, _ . or -",
  );

/**
 * What a suspended run waits for besides a person: any of the named signals, or the time `until` (ISO 8601). A
 * wait with both ends at whichever comes first.
 */
export const RunWait = z
  .strictObject({
    signals: z.array(SignalName).max(64).optional(),
    until: z.iso.datetime({ offset: true }).optional(),
    /**
     * The run waits for a child run to end: how many `child-end` events its journal holds. The store keeps a count
     * of the run's children that ended and wakes the run once that count passes this one.
     */
    children: z.number().int().nonnegative().optional(),
  })
  .refine((wait) => wait.signals !== undefined || wait.until !== undefined || wait.children !== undefined, {
    message: "a wait names signals, a time (until), children, or a mix",
  });
export type RunWait = z.infer<typeof RunWait>;

/** A session's run: the session and the number of the message that started it. */
export const SessionTurn = z.strictObject({
  sessionId: z.string().min(1),
  turn: z.number().int().positive(),
});
export type SessionTurn = z.infer<typeof SessionTurn>;

/**
 * Which arm of a deployment a run was assigned to (docs/rollout.md): the deployment, stable or candidate, and the
 * sticky key it was hashed from with what kind of key it is (a user's subject, a session id or the run's own key).
 */
export const RolloutAssignment = z.strictObject({
  deployment: z.string().min(1),
  arm: z.enum(["stable", "candidate"]),
  key: z.string().min(1).max(512),
  keyKind: z.enum(["user", "session", "run"]),
});
export type RolloutAssignment = z.infer<typeof RolloutAssignment>;

/** Payload schemas, one per event type. Names are nouns then verbs (ARCHITECTURE.md §4). */
export const EventPayloads = {
  "run-start": z.strictObject({
    agent: z.string(),
    agentVersion: z.string(),
    specHash: z.string(),
    input: z.string(),
    principal: Principal,
    /** Clock read once at start; timeouts are measured from it so replay decides the same way. */
    startedAt: z.string(),
    deadlineAt: z.string(),
    maxSteps: z.number().int().positive(),
    /** The W3C trace context the run was requested under; its trace continues the caller's (docs/observability.md). */
    traceparent: z.string().max(256).optional(),
    /** Set on a child run: the run and node that started it, and the top of its run tree. Written by the store. */
    parent: RunParent.optional(),
    /**
     * The per-run caps of the runs above a child run, nearest first: each of its model calls is reserved against
     * every one of them as well as its own, so a tree's spend stays within its root's cap (docs/workflows.md).
     */
    parentBudgets: z.array(ParentBudget).max(64).optional(),
    /**
     * The agents of the runs above a child run, nearest first: a kill switch on any of them covers this run's
     * actions as a kill of its own agent would, so killing an agent stops the child runs it started at once.
     */
    ancestors: z.array(z.string().min(1)).max(64).optional(),
    /** Set on a session's run: the session and which of its messages (1, 2, …) started this run. Written by the store. */
    session: SessionTurn.optional(),
    /**
     * Set on a shadow run: the live run it shadows, whose input it was started with. A shadow run executes no
     * side-effecting tool call, asks no person and never reaches a user (docs/shadow.md).
     */
    shadowOf: z.strictObject({ runId: z.string().min(1) }).optional(),
    /** Set on a run a deployment assigned: its arm and the sticky key it was hashed from (docs/rollout.md). */
    rollout: RolloutAssignment.optional(),
  }),
  /**
   * What a session's run carries from the turns before it, decided once before its first model call: the messages
   * the model reads ahead of this run's input, the summary of older turns (when the policy summarizes), and the
   * token counts behind the choice. The messages are read from the session's earlier runs and journaled here before
   * the model reads them, so a replay carries exactly the same.
   */
  "context-carry": z.strictObject({
    sessionId: z.string(),
    turn: z.number().int().positive(),
    strategy: z.enum(["drop-oldest", "summarize"]),
    /** The window the thread was fitted to and how its tokens were counted. */
    window: z.strictObject({
      maxTokens: z.number().int().positive(),
      /** Tokens kept free for the answer, the system prompt, the tool schemas and this run's input. */
      reservedTokens: z.number().int().nonnegative(),
      encoding: z.string(),
      /** True when the encoding is not the provider's own (Anthropic, Gemini, offline stand-ins): counts are estimates. */
      approximate: z.boolean(),
    }),
    /** Earlier turns of the session (answered ones), how many are carried verbatim, summarized, or dropped. */
    turnsBefore: z.number().int().nonnegative(),
    turnsCarried: z.number().int().nonnegative(),
    turnsSummarized: z.number().int().nonnegative(),
    turnsDropped: z.number().int().nonnegative(),
    /** Tokens of every earlier turn verbatim, and of what is carried (summary included). */
    tokensBefore: z.number().int().nonnegative(),
    tokensCarried: z.number().int().nonnegative(),
    /** The summary of the turns up to `summarizedThrough` (a turn number), shown to the model with the system prompt. */
    summary: z.string().optional(),
    summarizedThrough: z.number().int().nonnegative().optional(),
    /** The session's working memory as the earlier turns left it (the latest update_working_memory value). */
    workingMemory: z.record(z.string(), z.unknown()).optional(),
    /**
     * The carried turns' messages, oldest first, each with the turn it belongs to: the user's message, the tool calls
     * the turn's model made with their results (as journaled: redacted, a denied or failed call as its error, a
     * withheld result as withheld), then the answer.
     */
    messages: z.array(CarriedMessage),
  }),
  "step-start": z.strictObject({ step: z.number().int().positive(), node: z.string() }),
  "model-call-start": z.strictObject({
    step: z.number().int().positive(),
    provider: z.string(),
    model: z.string(),
    offline: z.boolean(),
    phase: ModelCallPhase.optional(),
    /** Why the gateway chose this target (routing rule, cascade tier, classifier label, or the default). */
    routing: z.strictObject({ reason: z.string(), rule: z.string().optional() }).optional(),
  }),
  "model-call-end": z.strictObject({
    step: z.number().int().positive(),
    provider: z.string(),
    model: z.string(),
    outcome: z.enum(["ok", "error"]),
    decision: ModelDecision.optional(),
    error: ErrorInfo.optional(),
    usage: Usage.optional(),
    durationMs: z.number().nonnegative(),
    phase: ModelCallPhase.optional(),
    cost: CallCost.optional(),
    attempts: z.array(ModelCallAttempt).optional(),
    /** `hit` when the exact response cache answered, `miss` when it was asked, `bypass` when it may not be used. */
    responseCache: z.enum(["hit", "miss", "bypass"]).optional(),
    /**
     * True when `usage` (and so `cost`) is an estimate: a stream cut after its first token, before the provider
     * reported its usage.
     */
    usageEstimated: z.boolean().optional(),
    /** A failed stream's text that had been sent to live listeners before the cut (never an answer). */
    streamedText: z.string().optional(),
    /**
     * Why the answer does not match the agent's output schema: the model is told so (the run's next user message)
     * and asked again, or, past the spec's `output.maxRetries`, the run fails with `output_schema_mismatch`.
     */
    outputRejection: z.string().optional(),
    /** Cascade tiers tried before this answer was accepted, with why each was escalated. */
    escalations: z
      .array(z.strictObject({ provider: z.string(), model: z.string(), reason: z.string() }))
      .optional(),
  }),
  "tool-call-propose": z.strictObject({
    step: z.number().int().positive(),
    callId: z.string(),
    tool: z.string(),
    arguments: JsonValue,
    argumentsHash: z.string(),
    /** Set when an approver edited the arguments of a held call: this proposal replaces the one before it. */
    revision: z.strictObject({ approvalId: z.string(), by: z.string(), previousHash: z.string() }).optional(),
  }),
  "policy-decision": z.strictObject({
    callId: z.string().optional(),
    action: z.string(),
    decision: z.enum(["allow", "review", "deny"]),
    reasons: z.array(z.string()),
    /** Why a deny happened, as a code (`forbidden`, `killed`, `rate_limited`, …). */
    code: z.string().optional(),
    /** The pipeline step that settled it: kill-switch, identity, policy, rate-limit, capability, internal. */
    stage: z.string().optional(),
    /** The agent version that acted and the user it acted for: every action names both. */
    agent: z.strictObject({ name: z.string(), version: z.string() }).optional(),
    principal: Principal.optional(),
    /** The tool, model or target the action was about. */
    target: z.string().optional(),
    argumentsHash: z.string().optional(),
    /** The Cedar policies that determined the decision. */
    policies: z.array(z.string()).optional(),
    /** What the shadow (log-only) policies would have decided, when that differs. */
    shadow: z
      .strictObject({
        decision: z.enum(["allow", "review", "deny"]),
        policies: z.array(z.string()),
        reasons: z.array(z.string()),
      })
      .optional(),
    /** The capability token's id (`jti`); the token itself is never journaled. */
    capabilityId: z.string().optional(),
    /** The data classes the run had read when the decision was made. */
    dataClasses: z.array(z.string()).optional(),
    /** A retry of a call that started and never ended: decided again, its rate limits not taken twice. */
    retry: z.boolean().optional(),
    /**
     * Decided for a shadow run's side-effecting call and never acted on: an allow executed nothing, a review asked
     * nobody, and no rate-limit token was taken. The call's `tool-call-end` (its `shadowed`) says what answered it.
     */
    shadowed: z.literal(true).optional(),
  }),
  "tool-call-start": z.strictObject({
    step: z.number().int().positive(),
    callId: z.string(),
    tool: z.string(),
    idempotencyKey: z.string(),
    attempt: z.number().int().positive(),
  }),
  "tool-call-end": z.strictObject({
    step: z.number().int().positive(),
    callId: z.string(),
    tool: z.string(),
    outcome: z.enum(["ok", "error"]),
    result: JsonValue.optional(),
    error: ErrorInfo.optional(),
    durationMs: z.number().nonnegative(),
    /** Classes of data the result holds (the tool's declaration); the run accumulates them. */
    dataClasses: z.array(z.string()).optional(),
    /**
     * The result was not returned by a run of the tool but found by its `reconcile` hook: an attempt whose end
     * was never recorded had applied its effect.
     */
    reconciled: z.boolean().optional(),
    /**
     * The call was never executed: the run is a shadow run and the call has a side effect. The result (or error)
     * is what the tool's shadow setting gave instead: the live run's end of the same call (`live`, naming it), the
     * declared `stub`, the tool's `dry-run` hook, or `not-executed` (no `tool-call-start` is ever journaled for it).
     * `review` is what a person would have been asked, had this been a live run: a shadow run asks nobody.
     */
    shadowed: z
      .strictObject({
        answer: z.enum(["live", "stub", "dry-run", "not-executed"]),
        live: z.strictObject({ runId: z.string(), callId: z.string() }).optional(),
        review: z
          .strictObject({
            kind: z.enum(["tool-call", "draft"]),
            reasons: z.array(z.string()),
            policies: z.array(z.string()),
          })
          .optional(),
      })
      .optional(),
  }),
  "budget-reserve": z.strictObject({
    reservationId: z.string(),
    step: z.number().int().nonnegative(),
    usd: z.number().nonnegative(),
    tokens: z.number().int().nonnegative(),
    scopes: z.array(BudgetScopeRef),
  }),
  "budget-settle": z.strictObject({
    reservationId: z.string(),
    usd: z.number().nonnegative(),
    tokens: z.number().int().nonnegative(),
    priceTableVersion: z.string(),
  }),
  "budget-exceeded": z.strictObject({
    scope: z.string(),
    period: z.string(),
    limitUsd: z.number().nonnegative().optional(),
    limitTokens: z.number().int().nonnegative().optional(),
    spentUsd: z.number().nonnegative(),
    spentTokens: z.number().int().nonnegative(),
    requestedUsd: z.number().nonnegative(),
    requestedTokens: z.number().int().nonnegative(),
    message: z.string(),
  }),
  "budget-alert": z.strictObject({
    scope: z.string(),
    period: z.string(),
    threshold: z.number().positive(),
    spentUsd: z.number().nonnegative(),
    spentTokens: z.number().int().nonnegative(),
    limitUsd: z.number().nonnegative().optional(),
    limitTokens: z.number().int().nonnegative().optional(),
  }),
  /**
   * A workflow run enters a node (docs/workflows.md). `visit` counts this node's entries in the run, `step` all
   * node entries; the workflow's step bound and a node's `maxVisits` are checked against them.
   */
  "node-start": z.strictObject({
    node: z.string(),
    kind: z.string(),
    visit: z.number().int().positive(),
    step: z.number().int().positive(),
  }),
  /**
   * A workflow node is done: what it produced (`output`, written to the state field `writes` through that field's
   * reducer) and the node the run goes to next (null: the workflow ended). The run's state is a fold of these.
   */
  "node-end": z.strictObject({
    node: z.string(),
    visit: z.number().int().positive(),
    outcome: z.enum(["ok", "failed"]),
    output: JsonValue.optional(),
    writes: z.string().optional(),
    next: z.string().nullable(),
    error: ErrorInfo.optional(),
    /** The `signal-receive` (by its seq) a `wait` node took: each signal is taken by one wait at most. */
    signal: z.strictObject({ name: z.string(), seq: z.number().int().positive() }).optional(),
    /** Further writes a fan-out node makes as it ends: its list of failed branches, to its `failures` field. */
    alsoWrites: z.array(z.strictObject({ writes: z.string(), output: JsonValue })).optional(),
  }),
  /**
   * A workflow node started a child run (docs/workflows.md): an `agent` node, or one branch of a `parallel` or `map`.
   * Journaled after the store created the child under the idempotency key `<run>:<node>.<visit>[.<branch>]`, so a
   * replay finds the same child. `deadlineAt` is the branch's timeout, computed once.
   */
  "child-start": z.strictObject({
    node: z.string(),
    visit: z.number().int().positive(),
    branch: z.string().optional(),
    childRunId: z.string(),
    agent: z.string(),
    deadlineAt: z.string().optional(),
  }),
  /**
   * A child run this run started has ended: its final status, answer and error, read from the store once after the
   * run was woken, so a replay never reads the store again.
   */
  "child-end": z.strictObject({
    childRunId: z.string(),
    node: z.string(),
    visit: z.number().int().positive(),
    branch: z.string().optional(),
    status: RunStatus.exclude(["queued", "running", "suspended"]),
    answer: z.string().optional(),
    /** A structured answer: the answer parsed, as it matched the agent's output schema. */
    output: JsonValue.optional(),
    error: ErrorInfo.optional(),
  }),
  /**
   * One branch of a `parallel` or `map` node is settled: its output (written to `writes` through that field's
   * reducer), or why it failed (`branch_timeout`, the child's or the tool's error), or `cancelled` by the join.
   */
  "branch-end": z.strictObject({
    node: z.string(),
    visit: z.number().int().positive(),
    branch: z.string(),
    outcome: z.enum(["ok", "failed", "cancelled"]),
    output: JsonValue.optional(),
    writes: z.string().optional(),
    error: ErrorInfo.optional(),
  }),
  "run-suspend": z.strictObject({
    reason: z.string(),
    /** The action held for a person: resuming decides on exactly this call (bound by its argument hash). */
    pendingAction: z
      .strictObject({
        kind: z.string(),
        callId: z.string(),
        tool: z.string(),
        argumentsHash: z.string(),
        policies: z.array(z.string()),
        reasons: z.array(z.string()),
      })
      .optional(),
    /** The approval request the run waits for. */
    approvalId: z.string().optional(),
    /** What else ends the wait: a named signal, or a time (a durable timer the store keeps as `wake_at`). */
    wait: RunWait.optional(),
  }),
  /**
   * A person is asked to decide: what the agent tried and why it needs review, the exact call (arguments as a
   * reviewer may see them, bound by the hash of the real ones), the run's context, and where the request goes.
   */
  "approval-request": z.strictObject({
    approvalId: z.string(),
    kind: ApprovalKind,
    summary: z.string(),
    reasons: z.array(z.string()),
    policies: z.array(z.string()),
    callId: z.string().optional(),
    tool: z.string().optional(),
    /** The redacted view: secrets and credentials are masked; the hash binds the real arguments. */
    arguments: JsonValue.optional(),
    argumentsHash: z.string().optional(),
    /** For a task: the JSON Schema of the form the person fills in; an approval's `values` must match it. */
    form: JsonValue.optional(),
    context: z.strictObject({
      agent: z.string(),
      agentVersion: z.string(),
      input: z.string(),
      step: z.number().int().nonnegative(),
      principal: Principal,
      dataClasses: z.array(z.string()),
      /** The last turns before the request, shortened, so a reviewer sees how the run got here. */
      recent: z.array(z.string()),
    }),
    /** The subject the run acts for: never allowed to approve its own request. */
    requestedBy: z.string(),
    routeTo: z.string(),
    priority: ApprovalPriority,
    requiredApprovals: z.number().int().min(1).max(5),
    /** Holding any one of these roles makes a person an approver of this request. */
    approverRoles: z.array(z.string()).min(1),
    /** Clock read once when the request was made; the SLA runs from it. */
    requestedAt: z.string(),
    expiresAt: z.string(),
    onTimeout: z.enum(["deny", "escalate"]),
    escalateTo: z.string().optional(),
  }),
  /** One person's decision on a request; `final` when it settles the request (and the run resumes). */
  "approval-decision": z.strictObject({
    approvalId: z.string(),
    decision: z.enum(["approve", "reject", "resolve"]),
    by: Principal,
    /** The argument hash the person saw and decided on. */
    argumentsHash: z.string().optional(),
    /** Present when the person edited the arguments: the edit is journaled as a new proposal with this hash. */
    edited: z.strictObject({ previousHash: z.string(), argumentsHash: z.string() }).optional(),
    comment: z.string().optional(),
    /** For a handoff: what the person answered, which becomes the run's answer. */
    resolution: z.string().optional(),
    /** For a task: the form as this person filled it in (checked against the request's `form`). */
    values: z.record(z.string(), JsonValue).optional(),
    /** Distinct people who have approved the current arguments, this one included. */
    approvals: z.number().int().nonnegative(),
    final: z.boolean(),
  }),
  /** A request passed its SLA unanswered: denied, or escalated to another queue with a new deadline. */
  "approval-expire": z.strictObject({
    approvalId: z.string(),
    outcome: z.enum(["denied", "escalated"]),
    expiredAt: z.string(),
    routeTo: z.string().optional(),
    expiresAt: z.string().optional(),
    priority: ApprovalPriority.optional(),
  }),
  /**
   * A guard found something in text entering the run: where (the input, or one tool call's result), what the
   * detector scored and matched, and what was done. The text itself is not repeated: its hash binds the finding.
   */
  "guard-flag": z.strictObject({
    where: z.enum(["input", "tool-result"]),
    /** The tool call whose result was inspected (tool results only). */
    tool: z.string().optional(),
    callId: z.string().optional(),
    /** Which detector and version decided, e.g. `injection@1`. */
    detector: z.string().min(1),
    score: z.number().min(0).max(1),
    threshold: z.number().min(0).max(1),
    rules: z.array(z.string()),
    classes: z.array(z.string()),
    /** `block`: refused or withheld; `review`: held for a person; `flag`: recorded, the run carried on. */
    action: z.enum(["block", "review", "flag"]),
    /** SHA-256 of the canonical JSON of the inspected text, and its length in characters. */
    textHash: z.string().min(1),
    textLength: z.number().int().nonnegative(),
    /**
     * With model-based detectors: every detector's verdict on the text (the built-in rules' too), how long it took
     * and what its call cost; `error` says why one gave no answer (failed, timed out, answered out of shape).
     */
    detectors: z
      .array(
        z.strictObject({
          detector: z.string().min(1),
          flagged: z.boolean(),
          score: z.number().min(0).max(1),
          threshold: z.number().min(0).max(1),
          durationMs: z.number().nonnegative(),
          usd: z.number().nonnegative().optional(),
          error: z.string().optional(),
        }),
      )
      .optional(),
  }),
  "run-resume": z.strictObject({
    reason: z.string(),
    worker: z.string(),
    /** A run resumed after waiting for a person gets back the time it had left: time suspended is not counted. */
    deadlineAt: z.string().optional(),
  }),
  "run-cancel": z.strictObject({ requestedBy: z.string(), reason: z.string().optional() }),
  /**
   * A named signal delivered to the run from outside (`POST /v1/runs/{id}/signals/{name}`). Journaled whether or
   * not the run waits for it: one it does not wait for yet stays in the journal for the run to take when it does.
   */
  "signal-receive": z.strictObject({
    name: SignalName,
    payload: JsonValue.optional(),
    /** Who sent it: the API principal. */
    by: Principal,
    /** Repeats of a delivery with the same key are answered with this event instead of journaling another. */
    idempotencyKey: z.string().min(1).max(200).optional(),
  }),
  /**
   * A durable timer came due: journaled once, by the worker whose claim found the run's `wait.until` passed, in
   * the same commit as the `run-resume` it causes.
   */
  "timer-fire": z.strictObject({
    /** The `wait.until` that came due; the event's own `at` is when it fired. */
    dueAt: z.string(),
  }),
  "run-end": z.strictObject({
    status: RunStatus.exclude(["queued", "running", "suspended"]),
    answer: z.string().optional(),
    /** A structured answer: the answer parsed, as it matched the agent's output schema. */
    output: JsonValue.optional(),
    error: ErrorInfo.optional(),
    steps: z.number().int().nonnegative(),
  }),
} as const;

export type EventType = keyof typeof EventPayloads;
export const EVENT_TYPES = Object.keys(EventPayloads) as EventType[];

/**
 * Events that start new work for a run: a step, a workflow node, a model call, a tool execution (its durable start
 * comes before the tool runs), a child run, a person's task. Once a run's cancel is requested the store refuses an
 * append that leaves any of them open (`cancelled`, see `firstFencedEvent`), so no work starts after a cancel was
 * acknowledged. Every other event is
 * still accepted: those that settle work already under way (`tool-call-end`, `model-call-end`, `branch-end`,
 * `child-end`, `node-end`, `budget-settle`), record what happened (`policy-decision`, `guard-flag`,
 * `signal-receive`), and end the run (`run-cancel`, `run-end`).
 */
export const STARTS_WORK: ReadonlySet<EventType> = new Set<EventType>([
  "step-start",
  "node-start",
  "model-call-start",
  "tool-call-start",
  "child-start",
  "approval-request",
]);

export type PayloadOf<T extends EventType> = z.infer<(typeof EventPayloads)[T]>;

/**
 * Where the cancel fence refuses an append: the first event that starts work the append does not also finish, or
 * that ends the run other than cancelled; -1 when there is none. A start whose end rides in the same append records
 * work already done, not work begun: a model call with its `model-call-end`, a read-only tool call with its
 * `tool-call-end` (such a call's start is written with its end), and a step whose model turn ended in it. So once a
 * run's cancel is requested, the journal still keeps what happened, while work left open (a side-effecting call's
 * durable start, a child run, a person's task, a workflow node) is refused from its first open start, and a run
 * whose cancel was acknowledged ends cancelled even if its model answered meanwhile.
 */
export function firstFencedEvent(events: readonly NewEvent[]): number {
  return events.findIndex((event, index) => {
    if (event.type === "run-end") return event.payload.status !== "cancelled";
    if (!STARTS_WORK.has(event.type)) return false;
    const later = events.slice(index + 1);
    switch (event.type) {
      case "step-start":
      case "model-call-start": {
        const { step } = event.payload as { step: number };
        return !later.some((each) => each.type === "model-call-end" && each.payload.step === step);
      }
      case "tool-call-start": {
        const { callId } = event.payload as { callId: string };
        return !later.some((each) => each.type === "tool-call-end" && each.payload.callId === callId);
      }
      default:
        return true;
    }
  });
}

/** An event before the store has placed it: what the runtime asks to append. */
export type NewEvent = { [T in EventType]: { type: T; payload: PayloadOf<T> } }[EventType];

/** An event as stored: dense per-run `seq`, hash-linked to the one before it. */
export type JournalEvent = {
  [T in EventType]: {
    runId: string;
    seq: number;
    type: T;
    at: string;
    payload: PayloadOf<T>;
    schemaVersion: number;
    payloadHash: string;
    prevHash: string;
    hash: string;
  };
}[EventType];

/** Narrow a stored event to one type. */
export function isEvent<T extends EventType>(
  event: JournalEvent,
  type: T,
): event is Extract<JournalEvent, { type: T }> {
  return event.type === type;
}

/** Whether `type` names a journal event type. */
export function isEventType(type: string): type is EventType {
  return Object.hasOwn(EventPayloads, type);
}

/** Check a new event's payload against its schema; returns the parsed payload or throws a ZodError. */
export function parseNewEvent(event: { type: string; payload: unknown }): NewEvent {
  const schema = EventPayloads[event.type as EventType];
  if (!schema) throw new Error(`unknown journal event type "${event.type}"`);
  return { type: event.type, payload: schema.parse(event.payload) } as NewEvent;
}

const AnnotationGrade = z.strictObject({
  grader: z.string(),
  kind: z.enum(["deterministic", "judge", "custom"]),
  passed: z.boolean(),
  score: z.number().min(0).max(1),
  reason: z.string(),
  advisory: z.boolean().optional(),
  criteria: z.record(z.string(), z.boolean()).optional(),
});

/**
 * Events recorded about a run after it ended, kept beside the journal (`keel_evaluation_events`) because a run's
 * own chain closes at `run-end`: `evaluation` (production sampling graded it) and `feedback` (a person rated it).
 */
export const RunAnnotationPayloads = {
  evaluation: z.strictObject({
    source: z.enum(["production-sample", "eval-run"]),
    /** Mean score of the grades that count; the run passes when all of them do. */
    score: z.number().min(0).max(1),
    passed: z.boolean(),
    grades: z.array(AnnotationGrade),
    sampleRate: z.number().min(0).max(1).optional(),
  }),
  feedback: z.strictObject({
    rating: z.enum(["up", "down"]),
    /** 1 for up, 0 for down: feedback is a score like any other. */
    score: z.union([z.literal(0), z.literal(1)]),
    comment: z.string().max(4_000).optional(),
    by: z.string(),
  }),
} as const;
export type RunAnnotationType = keyof typeof RunAnnotationPayloads;
export type RunAnnotationPayload<T extends RunAnnotationType> = z.infer<(typeof RunAnnotationPayloads)[T]>;
