import { z } from "zod";
import type { Governor } from "../../src/governance/governor.ts";
import type { JournalEvent } from "../../src/journal/events.ts";
import { createAnthropicModelProvider } from "../../src/models/anthropic-model-provider.ts";
import type { LoopbackProvider } from "../../src/models/loopback/loopback-provider-server.ts";
import { createModelGateway, routedModelProvider } from "../../src/models/model-gateway.ts";
import { createPriceTable } from "../../src/models/price-table.ts";
import type { AgentDefinition } from "../../src/runtime/agent-definition.ts";
import type { Store } from "../../src/store/store.ts";
import { defineTool, type Tool } from "../../src/tools/tool.ts";
import { driveRun } from "./drive-run.ts";
import { scriptedAgent } from "./scripted-agent.ts";
import { testGovernor } from "./test-governor.ts";

export const TELEMETRY_MODEL = "claude-sonnet-4-5-20250929";

/** A lookup tool that fails for id "broken". */
export const lookupTool = defineTool({
  name: "lookup",
  description: "Look an order up.",
  input: z.object({ id: z.string() }),
  async execute({ id }) {
    if (id === "broken") throw new Error("the order service is down");
    return { id, found: true };
  },
});

/** A refund tool that the scenario's governance forbids or holds for review. */
export const refundTool = defineTool({
  name: "issue_refund",
  description: "Refund an order.",
  input: z.object({ id: z.string(), amount: z.number() }),
  sideEffect: true,
  async execute({ id, amount }) {
    if (amount > 500) throw new Error("the payment provider refused the refund");
    return { id, refunded: amount };
  },
});

/** An agent whose model calls go through the real gateway to a loopback Anthropic server, so they are priced. */
export function gatewayAgent(options: {
  server: LoopbackProvider;
  name?: string;
  version?: string;
  tools?: readonly Tool[];
}): AgentDefinition {
  const gateway = createModelGateway({
    priceTable: createPriceTable(),
    resilience: { initialDelayMs: 5, maxDelayMs: 10, maxAttempts: 1, attemptTimeoutMs: 5_000 },
    resolveTarget: (ref) => ({
      adapter: createAnthropicModelProvider({
        model: ref.model,
        apiKey: "k",
        baseUrl: options.server.baseUrl,
      }),
      keyId: "ANTHROPIC_API_KEY",
    }),
  });
  const base = scriptedAgent({
    turns: [],
    tools: options.tools ?? [lookupTool, refundTool],
    maxSteps: 8,
    ...(options.name ? { name: options.name } : {}),
    ...(options.version ? { version: options.version } : {}),
  });
  return {
    ...base,
    provider: routedModelProvider({
      gateway,
      policy: {
        primary: { provider: "anthropic", model: TELEMETRY_MODEL },
        fallbacks: [],
        rules: [],
        promptCaching: true,
      },
      agent: base.name,
    }),
    params: { maxOutputTokens: 200 },
  };
}

/** A governor that lets `lookup` run and forbids `issue_refund` (a deny the model sees). */
export async function refundForbiddingGovernor(agents: readonly AgentDefinition[]): Promise<Governor> {
  return await testGovernor([...agents], {
    governance: (agent) => ({
      allowedTools: [...agent.tools.keys()],
      decisionAuthority: { autonomous: ["lookup"], forbidden: ["issue_refund"] },
      dataAccess: { allowPii: true, allowFinancial: true },
    }),
  });
}

/** Start a run and interpret it in this process until it ends or suspends; returns its journal. */
export async function runScenario(options: {
  store: Store;
  agent: AgentDefinition;
  input: string;
  governor?: Governor;
  traceparent?: string;
}): Promise<JournalEvent[]> {
  const { events } = await driveRun({
    ...options,
    owner: "telemetry-test",
    ...(options.governor ? { governor: options.governor } : {}),
  });
  return events;
}
