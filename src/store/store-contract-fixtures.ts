import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { type ErrorCode, isKeelError } from "../errors/index.ts";
import type { NewEvent, PayloadOf } from "../journal/index.ts";
import type { SqlStore } from "./sql-store.ts";
import type { RunRecord } from "./store.ts";

/** How the contract suite reaches one store implementation. */
export type StoreContractSubject = {
  /** A store over a new, empty database; the suite migrates it and closes it. */
  openEmpty(): Promise<SqlStore>;
  /** A second store over the database behind `store`, as another worker process would open it. */
  openPeer(store: SqlStore): Promise<SqlStore>;
};

/** The stores a group of contract tests shares: `store` is migrated; `peer` sees the same database. */
export type StoreContractContext = {
  readonly subject: StoreContractSubject;
  readonly store: SqlStore;
  readonly peer: SqlStore;
  /** Open a store on a fresh database that is closed when the suite ends. */
  openEmpty(): Promise<SqlStore>;
  /** Open a peer of `store` that is closed when the suite ends. */
  openPeer(store: SqlStore): Promise<SqlStore>;
};

/** A name no other test uses, so tests sharing one database never see each other's runs. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString("hex")}`;
}

/** A valid run-start payload for an agent. */
export function runStart(agent: string, input = "hello"): PayloadOf<"run-start"> {
  const now = new Date();
  return {
    agent,
    agentVersion: "1.0.0",
    specHash: "0".repeat(64),
    input,
    principal: { subject: "user:ada", tenant: "default", roles: [] },
    startedAt: now.toISOString(),
    deadlineAt: new Date(now.getTime() + 60_000).toISOString(),
    maxSteps: 10,
  };
}

/** Create a queued run of a fresh agent (or the one given) and return its record. */
export async function createQueuedRun(store: SqlStore, agent = uniqueName("agent")): Promise<RunRecord> {
  const { run } = await store.createRun({ runId: uniqueName("run"), start: runStart(agent) });
  return run;
}

/** A `step-start` event. */
export function stepStart(step: number): NewEvent {
  return { type: "step-start", payload: { step, node: "model" } };
}

/** A `model-call-start` event. */
export function modelCallStart(step: number): NewEvent {
  return { type: "model-call-start", payload: { step, provider: "scripted", model: "test", offline: true } };
}

/** A `run-end` event that completes the run with an answer. */
export function runEnd(answer = "done"): NewEvent {
  return { type: "run-end", payload: { status: "completed", answer, steps: 1 } };
}

/** Wait `ms` milliseconds. */
export async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Assert that a promise rejects with a KeelError of this code, and return the error. */
export async function rejectsWithCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isKeelError(error, code), `expected KeelError ${code}, got ${String(error)}`);
    return true;
  });
}
