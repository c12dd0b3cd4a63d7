import { z } from "zod";
import { createGovernor, type KeelGovernor } from "../src/governance/create-governor.ts";
import { createMemoryGovernanceStore } from "../src/governance/memory-governance-store.ts";
import { createScriptedModelProvider } from "../src/models/scripted-model-provider.ts";
import type { AgentDefinition } from "../src/runtime/agent-definition.ts";
import { governedTools } from "../src/runtime/governed-tools.ts";
import { ApprovalsSection } from "../src/spec/approvals-section.ts";
import { GovernanceSection } from "../src/spec/governance-section.ts";
import { defineTool } from "../src/tools/tool.ts";

/**
 * The approvals benchmark's agent: its first turn proposes a refund of 281 that its governance holds for review
 * (the support example's rule), its second answers. `onToolStart` is called when the held refund starts running,
 * which is the "next step" an approval unblocks.
 */
export async function approvalsBenchAgent(options: {
  onToolStart: (runId: string) => void;
}): Promise<{ agent: AgentDefinition; governor: KeelGovernor }> {
  const refund = defineTool({
    name: "refund",
    description: "Refund an order.",
    input: z.strictObject({ orderId: z.number().int(), amount: z.number().positive() }),
    sideEffect: true,
    async execute(input, context) {
      options.onToolStart(context.runId);
      return { refunded: input.amount };
    },
  });
  const agent: AgentDefinition = {
    name: "bench-approvals",
    version: "1.0.0",
    versionHash: "sha256:bench",
    description: "Refunds held for review, for the approvals benchmark.",
    owner: { team: "support-ops", person: "dana@example.com" },
    riskTier: 2,
    system: "",
    provider: createScriptedModelProvider({
      turns: [
        {
          kind: "tool-calls",
          calls: [{ callId: "c1", tool: "refund", arguments: { orderId: 1017, amount: 281 } }],
        },
        { kind: "answer", text: "Refunded." },
      ],
    }),
    tools: new Map([[refund.name, refund]]),
    params: {},
    // A long run timeout: approvals in the benchmark come long after the runs suspended.
    limits: { maxSteps: 5, runTimeout: 3_600_000, toolTimeout: 5_000 },
    approvals: ApprovalsSection.parse({ routeTo: "support-leads", sla: "2d" }),
  };
  const governor = createGovernor({ store: createMemoryGovernanceStore() });
  await governor.load({
    name: agent.name,
    version: agent.version,
    governance: GovernanceSection.parse({
      allowedTools: ["refund"],
      decisionAuthority: {
        autonomous: [{ tool: "refund", when: "input.amount <= 100" }],
        requiresHumanReview: [
          { tool: "refund", when: "input.amount > 100", reason: "refunds above 100 need a lead" },
        ],
      },
      dataAccess: { allowPii: true, allowFinancial: true },
    }),
    tools: governedTools(agent.tools.values()),
    policyFiles: [],
  });
  return { agent, governor };
}
