import { z } from "zod";
import { createGovernor, createMemoryGovernanceStore, type KeelGovernor } from "../governance/index.ts";
import { createScriptedModelProvider } from "../models/index.ts";
import type { AgentDefinition } from "../runtime/index.ts";
import { createWorker, governedTools, type Worker } from "../runtime/index.ts";
import { GovernanceSection } from "../spec/index.ts";
import type { Store } from "../store/index.ts";
import { defineTool } from "../tools/index.ts";

/** A tiny agent for the evals' own tests: it refunds the amount in its input, governed like the example. */
export const refunderAgent: AgentDefinition = {
  name: "refunder",
  version: "1.0.0",
  versionHash: "sha256:test",
  description: "Refunds the amount it is asked for.",
  owner: { team: "qa" },
  riskTier: 3,
  system: "",
  provider: createScriptedModelProvider({
    turns: (request) => {
      const amount = Number(/\d+/.exec(String(request.messages[0]?.content))?.[0] ?? 0);
      const last = request.messages.at(-1);
      if (last?.role === "tool")
        return { kind: "answer", text: last.isError ? "could not refund" : `refunded ${amount}` };
      if (amount === 0) return { kind: "answer", text: "nothing to refund" };
      return { kind: "tool-calls", calls: [{ callId: "c1", tool: "refund", arguments: { amount } }] };
    },
  }),
  tools: new Map([
    [
      "refund",
      defineTool({
        name: "refund",
        description: "Refund an amount.",
        input: z.object({ amount: z.number() }),
        sideEffect: true,
        async execute({ amount }) {
          return { refunded: amount };
        },
      }),
    ],
  ]),
  params: {},
  limits: { maxSteps: 4, runTimeout: 10_000, toolTimeout: 2_000 },
};

/** Refunds up to 100 run alone, above 100 wait for review, above 500 are forbidden. */
export async function refunderGovernor(agent: AgentDefinition = refunderAgent): Promise<KeelGovernor> {
  const governor = createGovernor({ store: createMemoryGovernanceStore() });
  await governor.load({
    name: agent.name,
    version: agent.version,
    governance: GovernanceSection.parse({
      allowedTools: ["refund"],
      decisionAuthority: {
        autonomous: ["refund"],
        requiresHumanReview: [{ tool: "refund", when: "input.amount > 100" }],
        forbidden: [{ tool: "refund", when: "input.amount > 500" }],
      },
    }),
    tools: governedTools(agent.tools.values()),
    policyFiles: [],
  });
  return governor;
}

/** A started worker for the refunder on a store, and its governor. */
export async function refunderWorker(
  store: Store,
  agent: AgentDefinition = refunderAgent,
): Promise<{ worker: Worker; governor: KeelGovernor }> {
  const governor = await refunderGovernor(agent);
  const worker = createWorker({
    store,
    agents: () => agent,
    governor,
    owner: `evals-${Math.random()}`,
    concurrency: 32,
    leaseTtlMs: 5_000,
  });
  worker.start();
  return { worker, governor };
}
