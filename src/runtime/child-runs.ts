import { KeelError } from "../errors/index.ts";
import { nodeTraceParent } from "../journal/index.ts";
import { type RunRecord, type Store, SYSTEM_ACTOR } from "../store/index.ts";
import type { AgentDefinition } from "./agent-definition.ts";
import type { RunState } from "./run-state.ts";
import { budgetsForChildren, startRun } from "./start-run.ts";

/** Up to this many open children are read one by one; more, a page of the parent's children at a time. */
const FEW_CHILDREN = 16;
const CHILDREN_PAGE = 1_000;

/**
 * What a workflow node may do with child runs of its run: find a served agent, start a child of it (found again,
 * not started a second time, when its idempotency key repeats), read how children stand, and cancel one with its
 * descendants. The worker builds it per run. A child acts for the parent's principal, continues the parent's trace
 * under the node that started it, and counts its model spend against the parent's per-run caps.
 */
export type ChildRuns = {
  /** The version of an agent this process serves now, by name; undefined when it serves none by that name. */
  agent(name: string): AgentDefinition | undefined;
  start(options: {
    agent: string;
    input: string;
    node: string;
    visit: number;
    idempotencyKey: string;
  }): Promise<{ run: RunRecord; created: boolean }>;
  read(runIds: readonly string[]): Promise<RunRecord[]>;
  /** Cancel a child and its descendants as Keel's runtime (`system:keel`), for `reason`. */
  cancel(runId: string, reason: string): Promise<void>;
};

/** Child runs of the run whose state is given, of the agents `agentNamed` finds (their current versions). */
export function createChildRuns(options: {
  store: Store;
  parent: RunState;
  /** The parent's own agent: its per-run cap is handed down with the caps above it. */
  parentAgent: AgentDefinition;
  agentNamed: (name: string) => AgentDefinition | undefined;
  /** Wake this process's worker when a child was created, so it is claimed at once. */
  poke?: () => void;
}): ChildRuns {
  const { store, parent } = options;
  return {
    agent: options.agentNamed,
    async start(request) {
      const agent = options.agentNamed(request.agent);
      if (!agent) {
        throw new KeelError("not_found", `agent ${request.agent} is not served by this Keel`);
      }
      const started = await startRun({
        store,
        agent,
        input: request.input,
        principal: parent.principal,
        idempotencyKey: request.idempotencyKey,
        traceparent: nodeTraceParent({
          runId: parent.runId,
          traceparent: parent.traceparent,
          node: request.node,
          visit: request.visit,
        }),
        parentBudgets: budgetsForChildren(options.parentAgent, parent),
        ancestors: [options.parentAgent.name, ...parent.ancestors],
        parent: { runId: parent.runId, node: request.node },
        // A shadow run's children are shadows too, of the same live run: nothing in its tree acts or reaches a user.
        ...(parent.shadowOf === null ? {} : { shadowOf: { runId: parent.shadowOf } }),
      });
      if (started.created) options.poke?.();
      return started;
    },
    async read(runIds) {
      if (runIds.length <= FEW_CHILDREN) {
        const runs = await Promise.all(runIds.map(async (runId) => await store.getRun(runId)));
        return runs.filter((run): run is RunRecord => run !== null);
      }
      // Many open children (a wide map): read the parent's children a page at a time instead of one by one.
      const wanted = new Set(runIds);
      const found: RunRecord[] = [];
      let after: string | undefined;
      while (found.length < wanted.size) {
        const page = await store.listChildren({
          runId: parent.runId,
          limit: CHILDREN_PAGE,
          ...(after === undefined ? {} : { after }),
        });
        for (const run of page) if (wanted.has(run.runId)) found.push(run);
        if (page.length < CHILDREN_PAGE) break;
        after = page.at(-1)!.runId;
      }
      return found;
    },
    async cancel(runId, reason) {
      await store.cancelTree(runId, { by: SYSTEM_ACTOR, reason });
    },
  };
}
