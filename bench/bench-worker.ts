import type { Governor } from "../src/governance/governor.ts";
import type { AgentDefinition } from "../src/runtime/agent-definition.ts";
import { createWorker, type Worker, type WorkerOptions } from "../src/runtime/worker.ts";
import type { Store } from "../src/store/store.ts";
import { allowAllGovernor } from "./allow-all-governor.ts";

/** A worker serving only the benchmark agent, governed by the allow-all double. */
export function createBenchWorker(options: {
  store: Store;
  agent: AgentDefinition;
  owner: string;
  concurrency: number;
}): Worker {
  // Built as a variable, not passed as a literal, so this compiles whether or not WorkerOptions names a governor yet.
  const workerOptions: WorkerOptions & { governor: Governor } = {
    store: options.store,
    agents: () => options.agent,
    owner: options.owner,
    concurrency: options.concurrency,
    governor: allowAllGovernor,
  };
  return createWorker(workerOptions);
}
