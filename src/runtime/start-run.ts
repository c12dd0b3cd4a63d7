import { randomBytes } from "node:crypto";
import { KeelError } from "../errors/index.ts";
import type { ParentBudget, Principal, RolloutAssignment } from "../journal/index.ts";
import type { RunRecord, Store } from "../store/index.ts";
import type { AgentDefinition } from "./agent-definition.ts";
import { protectEvent, redactionPolicyOf } from "./protect-events.ts";
import type { RunState } from "./run-state.ts";

/** Longest input a run accepts, in characters. */
export const MAX_INPUT_LENGTH = 100_000;

/** A time-ordered run id: sortable by creation, unique without coordination. */
export function newRunId(now: Date = new Date()): string {
  return `run_${now.getTime().toString(36).padStart(9, "0")}${randomBytes(8).toString("hex")}`;
}

/**
 * Create a queued run of an agent version. The clock is read once here and journaled in `run-start`, so the
 * run's deadline is the same on every replay.
 */
/**
 * The caps a run hands down to the child runs it starts: the ones above it, then its own per-run cap (when its
 * spec declares one), nearest first. A child's model calls are reserved against all of them.
 */
export function budgetsForChildren(agent: AgentDefinition, state: RunState): ParentBudget[] {
  const own = agent.budgets?.limits.perRun;
  const mine =
    own && (own.usd !== undefined || own.tokens !== undefined)
      ? [
          {
            runId: state.runId,
            ...(own.usd === undefined ? {} : { usd: own.usd }),
            ...(own.tokens === undefined ? {} : { tokens: own.tokens }),
          },
        ]
      : [];
  return [...mine, ...state.parentBudgets];
}

export async function startRun(options: {
  store: Store;
  agent: AgentDefinition;
  input: string;
  principal: Principal;
  idempotencyKey?: string;
  /** The W3C `traceparent` the run was requested under; journaled so its trace continues the caller's. */
  traceparent?: string;
  /** Start it as a child of this run's node (the store checks the tenant and that the parent has not ended). */
  parent?: { runId: string; node: string };
  /** A child run's share of its tree's caps: the per-run caps above it (see `budgetsForChildren`). */
  parentBudgets?: readonly ParentBudget[];
  /** A child run's: the agents of the runs above it, nearest first (a kill switch on any covers it). */
  ancestors?: readonly string[];
  /** Start it as the next message of this session (the store checks the session and numbers the message). */
  session?: { sessionId: string };
  /** The person the run is about: its personal journal fields are sealed under the subject's key. */
  subject?: string;
  /**
   * Start it as a shadow of this live run (a candidate version on a copy of its input): it executes no
   * side-effecting call, asks no person and reaches no user. The store checks the live run and its tenant.
   */
  shadowOf?: { runId: string };
  /** The deployment arm a rollout assigned the run to, journaled in its run-start (docs/rollout.md). */
  rollout?: RolloutAssignment;
  now?: Date;
}): Promise<{ run: RunRecord; created: boolean }> {
  const { agent, input } = options;
  if (input.trim().length === 0) {
    throw new KeelError("invalid_request", "input must not be empty", {
      issues: [{ path: "input", message: "must not be empty" }],
    });
  }
  if (input.length > MAX_INPUT_LENGTH) {
    throw new KeelError("invalid_request", `input is longer than ${MAX_INPUT_LENGTH} characters`, {
      issues: [{ path: "input", message: `must be at most ${MAX_INPUT_LENGTH} characters` }],
    });
  }
  const now = options.now ?? new Date();
  const runId = newRunId(now);
  const start = {
    agent: agent.name,
    agentVersion: agent.version,
    specHash: agent.versionHash,
    input,
    principal: options.principal,
    startedAt: now.toISOString(),
    deadlineAt: new Date(now.getTime() + agent.limits.runTimeout).toISOString(),
    maxSteps: agent.limits.maxSteps,
    ...(options.traceparent === undefined ? {} : { traceparent: options.traceparent }),
    ...(options.parentBudgets && options.parentBudgets.length > 0
      ? { parentBudgets: [...options.parentBudgets] }
      : {}),
    ...(options.ancestors && options.ancestors.length > 0 ? { ancestors: [...options.ancestors] } : {}),
    ...(options.shadowOf === undefined ? {} : { shadowOf: { runId: options.shadowOf.runId } }),
    ...(options.rollout === undefined ? {} : { rollout: options.rollout }),
  };
  // The input is masked before it is journaled; the model reads the run's input from the journal, masked too.
  const { stored } = protectEvent(
    { type: "run-start", payload: start },
    redactionPolicyOf({ runId, guards: agent.guards }),
  );
  return await options.store.createRun({
    runId,
    start: stored.payload as typeof start,
    ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey }),
    ...(options.parent === undefined ? {} : { parent: options.parent }),
    ...(options.session === undefined ? {} : { session: options.session }),
    ...(options.subject === undefined ? {} : { subject: options.subject }),
  });
}
