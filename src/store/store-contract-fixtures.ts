import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { type ErrorCode, isKeelError } from "../errors/index.ts";
import type { NewEvent, PayloadOf } from "../journal/index.ts";
import type { ListPosition } from "./list-position.ts";
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

/**
 * Give rows the creation instants a test needs (`[id, instant]` pairs, the instants to the microsecond), all in one
 * statement: how rows written by one transaction, or in one millisecond, look to a listing.
 */
export async function setCreatedAt(
  store: SqlStore,
  table: "keel_runs" | "keel_sessions",
  idColumn: "run_id" | "session_id",
  instants: readonly (readonly [string, string])[],
): Promise<void> {
  await store.sql.query(
    `UPDATE ${table} SET created_at = given.at::timestamptz
       FROM unnest($1::text[], $2::text[]) AS given (id, at) WHERE ${table}.${idColumn} = given.id`,
    [instants.map(([id]) => id), instants.map(([, at]) => at)],
  );
}

/**
 * Every row of a listing, read a page at a time from the first page on; fails on a page that repeats a position,
 * so a listing that pages in a circle ends the test rather than running forever.
 */
export async function readAllPages<Row>(
  read: (startAfter: ListPosition | undefined) => Promise<{ rows: Row[]; next: ListPosition | null }>,
): Promise<Row[]> {
  const rows: Row[] = [];
  const seen = new Set<string>();
  let startAfter: ListPosition | undefined;
  for (;;) {
    const page = await read(startAfter);
    rows.push(...page.rows);
    if (page.next === null) return rows;
    const key = `${page.next.createdAt} ${page.next.id}`;
    assert.ok(!seen.has(key), `a page ended at ${key} twice`);
    seen.add(key);
    startAfter = page.next;
  }
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
