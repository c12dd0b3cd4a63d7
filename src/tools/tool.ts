import type { z } from "zod";

/**
 * Classes of data a tool's results contain. The run accumulates them, and policies read them (an agent without
 * `allowPii` is denied a `pii` tool; after `pii` was read, sending data outside needs review). Custom classes are
 * allowed: any lowercase word.
 */
export type DataClass = "public" | "internal" | "pii" | "financial" | "secret" | (string & {});

/** What a tool receives besides its arguments. */
export type ToolContext = {
  runId: string;
  callId: string;
  /** Stable across the retry of an interrupted call: a side-effecting tool must apply it at most once per key. */
  idempotencyKey: string;
  /** Aborted on timeout, cancel or kill. */
  signal: AbortSignal;
  /**
   * The governor's capability token for this call (an EdDSA JWT bound to the run, the tool and the argument
   * hash), for tools that forward it to a downstream service that verifies it. Absent outside a governed run.
   */
  capability?: string;
  /**
   * The W3C `traceparent` of this call's `execute_tool` span: send it on outbound HTTP requests so the callee's
   * spans continue the run's trace.
   */
  traceparent?: string;
};

/** What a `reconcile` hook receives: the call it asks about, identified by its idempotency key. */
export type ReconcileContext = {
  runId: string;
  callId: string;
  /** The key the earlier attempt ran with: the hook looks up whether an effect with this key exists. */
  idempotencyKey: string;
  /** Aborted on timeout, cancel or kill. */
  signal: AbortSignal;
};

/**
 * What a `reconcile` hook found out about an earlier attempt whose end was never recorded: its effect happened
 * (with the result the tool would have returned), or it did not.
 */
export type Reconciliation<Output = unknown> = { applied: true; result: Output } | { applied: false };

/** The port every tool implements. Arguments are validated against `input` before `execute` runs. */
export interface Tool<Input = unknown, Output = unknown> {
  readonly name: string;
  readonly description: string;
  readonly input: z.ZodType<Input>;
  readonly output?: z.ZodType<Output>;
  /** True when the tool changes the world (writes rows, sends mail): such calls get idempotency keys and are retried at most once. */
  readonly sideEffect: boolean;
  /** Overrides the agent's `limits.toolTimeout`. */
  readonly timeoutMs?: number;
  /** Classes of data the tool's results contain; a tool that declares none is treated as `internal`. */
  readonly dataClasses?: readonly DataClass[];
  /** True when the tool sends data outside the organisation (email, webhooks, third-party APIs). */
  readonly sendsDataOutside?: boolean;
  /** The argument that says how many records one call returns, checked against `dataAccess.maxRecordsPerQuery`. */
  readonly recordLimitArgument?: string;
  execute(input: Input, context: ToolContext): Promise<Output>;
  /**
   * For side-effecting tools: find out, by idempotency key, whether an attempt whose outcome was never recorded
   * (the process died mid-call, or the call timed out) applied its effect. Keel asks before it retries such a call
   * or gives up on it, so the journal records what really happened instead of "outcome unknown". It must only
   * read, never apply the effect.
   */
  reconcile?(input: Input, context: ReconcileContext): Promise<Reconciliation<Output>>;
  /**
   * For side-effecting tools: what the call would return, worked out without applying its effect (validate, price,
   * look up — never write). A shadow run whose spec answers this tool with `dry-run` is given it instead of a run.
   */
  dryRun?(input: Input, context: DryRunContext): Promise<Output>;
}

/** What a `dryRun` hook receives: the shadow run's call, for logging and look-ups only. */
export type DryRunContext = { runId: string; callId: string; signal: AbortSignal };

/** Define a function tool with zod schemas; the types of `execute` follow from them. */
export function defineTool<InputSchema extends z.ZodType, OutputSchema extends z.ZodType>(definition: {
  name: string;
  description: string;
  input: InputSchema;
  output?: OutputSchema;
  sideEffect?: boolean;
  timeoutMs?: number;
  dataClasses?: readonly DataClass[];
  sendsDataOutside?: boolean;
  recordLimitArgument?: string;
  execute(input: z.output<InputSchema>, context: ToolContext): Promise<z.input<OutputSchema>>;
  reconcile?(
    input: z.output<InputSchema>,
    context: ReconcileContext,
  ): Promise<Reconciliation<z.input<OutputSchema>>>;
  dryRun?(input: z.output<InputSchema>, context: DryRunContext): Promise<z.input<OutputSchema>>;
}): Tool<z.output<InputSchema>, z.output<OutputSchema>> {
  type Defined = Tool<z.output<InputSchema>, z.output<OutputSchema>>;
  return {
    name: definition.name,
    description: definition.description,
    input: definition.input as unknown as Defined["input"],
    ...(definition.output ? { output: definition.output as unknown as NonNullable<Defined["output"]> } : {}),
    sideEffect: definition.sideEffect ?? false,
    ...(definition.timeoutMs === undefined ? {} : { timeoutMs: definition.timeoutMs }),
    ...(definition.dataClasses === undefined ? {} : { dataClasses: definition.dataClasses }),
    ...(definition.sendsDataOutside === undefined ? {} : { sendsDataOutside: definition.sendsDataOutside }),
    ...(definition.recordLimitArgument === undefined
      ? {}
      : { recordLimitArgument: definition.recordLimitArgument }),
    execute: definition.execute as Defined["execute"],
    ...(definition.reconcile === undefined
      ? {}
      : { reconcile: definition.reconcile as NonNullable<Defined["reconcile"]> }),
    ...(definition.dryRun === undefined
      ? {}
      : { dryRun: definition.dryRun as NonNullable<Defined["dryRun"]> }),
  };
}
