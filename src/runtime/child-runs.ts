import type { Principal } from "../journal/index.ts";
import type { Store } from "../store/index.ts";
import type { AgentDefinition } from "./agent-definition.ts";
import { startRun } from "./start-run.ts";

/** What a workflow node needs to start runs of other agents as children of its run. */
export type ChildRuns = {
  /** The version of an agent this process serves now, by name; undefined when it serves none by that name. */
  agent(name: string): AgentDefinition | undefined;
  /**
   * Start a child run of `agent` under the parent's node. The idempotency key makes a repeat (the node replayed
   * after a crash between starting the child and journaling that it did) find the same child instead of a second.
   */
  start(options: {
    agent: AgentDefinition;
    input: string;
    principal: Principal;
    parent: { runId: string; node: string };
    idempotencyKey: string;
  }): Promise<{ runId: string; created: boolean }>;
};

/** Child runs on a store, woken on the given worker (`poke`) so one in this process is claimed at once. */
export function createChildRuns(options: {
  store: Store;
  current: (name: string) => AgentDefinition | undefined;
  poke?: () => void;
}): ChildRuns {
  return {
    agent: options.current,
    async start(child) {
      const { run, created } = await startRun({
        store: options.store,
        agent: child.agent,
        input: child.input,
        principal: child.principal,
        parent: child.parent,
        idempotencyKey: child.idempotencyKey,
      });
      if (created) options.poke?.();
      return { runId: run.runId, created };
    },
  };
}
