import assert from "node:assert/strict";
import type { Governor } from "../../src/governance/governor.ts";
import type { JournalEvent, Principal } from "../../src/journal/events.ts";
import type { AgentDefinition } from "../../src/runtime/agent-definition.ts";
import { interpret } from "../../src/runtime/interpret.ts";
import type { LiveText } from "../../src/runtime/live-text.ts";
import { RunJournal } from "../../src/runtime/run-journal.ts";
import { foldEvents, type RunState } from "../../src/runtime/run-state.ts";
import { singleAgentGraph } from "../../src/runtime/single-agent-graph.ts";
import { startRun } from "../../src/runtime/start-run.ts";
import type { Store } from "../../src/store/store.ts";
import { testGovernor } from "./test-governor.ts";

export type DriveRunOptions = {
  store: Store;
  agent: AgentDefinition;
  input: string;
  principal?: Principal;
  /** The lease owner the journal is written as. */
  owner?: string;
  /**
   * The governor deciding the run's actions: by default one allowing what the agent's spec allows; `null` for none,
   * so every tool call is denied (invariant 2).
   */
  governor?: Governor | null;
  /** Where the model's text deltas go while they are written. */
  live?: LiveText;
  traceparent?: string;
  timeoutMs?: number;
  /** Called with the run's id once it is created, before it is interpreted. */
  onStart?: (runId: string) => void;
};

/**
 * Start a run of `agent` and interpret it in this process until it ends or suspends, holding its lease meanwhile;
 * answers the run's id, its folded state and its journal.
 */
export async function driveRun(
  options: DriveRunOptions,
): Promise<{ runId: string; state: RunState; events: JournalEvent[] }> {
  const { store, agent } = options;
  const { run } = await startRun({
    store,
    agent,
    input: options.input,
    principal: options.principal ?? { subject: "tester", tenant: "acme", roles: [] },
    ...(options.traceparent ? { traceparent: options.traceparent } : {}),
  });
  options.onStart?.(run.runId);
  const lease = await store.acquireLease({ runId: run.runId, owner: options.owner ?? "test", ttlMs: 30_000 });
  assert.ok(lease);
  const journal = new RunJournal({
    store,
    lease,
    state: foldEvents(await store.readEvents({ runId: run.runId })),
  });
  const governor = options.governor === undefined ? await testGovernor([agent]) : options.governor;
  await interpret(singleAgentGraph, {
    agent,
    journal,
    signal: AbortSignal.timeout(options.timeoutMs ?? 20_000),
    ...(governor ? { governor } : {}),
    ...(options.live ? { live: options.live.writer(run.runId) } : {}),
  });
  await store.releaseLease(lease);
  return { runId: run.runId, state: journal.state, events: await store.readEvents({ runId: run.runId }) };
}
