import { KeelError } from "../errors/index.ts";
import type { RunRecord, Store } from "../store/index.ts";
import type { AgentDefinition } from "./agent-definition.ts";
import type { RunState } from "./run-state.ts";
import { startRun } from "./start-run.ts";

/** Up to this many open children are read one by one; more, a page of the parent's children at a time. */
const FEW_CHILDREN = 16;
const CHILDREN_PAGE = 1_000;

/**
 * What a workflow node may do with child runs of its run: start one of a served agent (found again, not started a
 * second time, when its idempotency key repeats), read how children stand, and cancel one with its descendants.
 * The worker builds it per run; a child acts for the parent's principal and continues the parent's trace.
 */
export type ChildRuns = {
  start(options: {
    agent: string;
    input: string;
    node: string;
    idempotencyKey: string;
  }): Promise<{ run: RunRecord; created: boolean }>;
  read(runIds: readonly string[]): Promise<RunRecord[]>;
  cancel(runId: string): Promise<void>;
};

/** Child runs of the run whose state is given, of the agents `agentNamed` finds (their current versions). */
export function createChildRuns(options: {
  store: Store;
  parent: RunState;
  agentNamed: (name: string) => AgentDefinition | undefined;
}): ChildRuns {
  const { store, parent } = options;
  return {
    async start(request) {
      const agent = options.agentNamed(request.agent);
      if (!agent) {
        throw new KeelError("not_found", `agent ${request.agent} is not served by this Keel`);
      }
      return await startRun({
        store,
        agent,
        input: request.input,
        principal: parent.principal,
        idempotencyKey: request.idempotencyKey,
        ...(parent.traceparent === null ? {} : { traceparent: parent.traceparent }),
        parent: { runId: parent.runId, node: request.node },
      });
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
    async cancel(runId) {
      await store.cancelTree(runId);
    },
  };
}
