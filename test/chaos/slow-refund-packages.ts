/**
 * The support example with a wider crash window: `issue_refund` pauses after its refund is committed and before
 * it returns, so a process killed then leaves a refund that happened with no recorded end — the case a resumed
 * run must neither repeat nor report as refused. Loaded by the chaos tests with `keel serve --packages`.
 */
import { supportTriage } from "../../examples/support-triage/index.ts";
import type { AgentPackage } from "../../src/runtime/agent-package.ts";
import type { Tool } from "../../src/tools/tool.ts";

const PAUSE_MS = Number(process.env.KEEL_CHAOS_REFUND_PAUSE_MS ?? "300");

function pauseAfterEffect(tool: Tool): Tool {
  return {
    ...tool,
    async execute(input, context) {
      const result = await tool.execute(input, context);
      await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
      return result;
    },
  };
}

export const agentPackages: AgentPackage[] = [
  {
    ...supportTriage,
    createTools: (context) =>
      supportTriage
        .createTools(context)
        .map((tool) => (tool.name === "issue_refund" ? pauseAfterEffect(tool) : tool)),
  },
];
