/**
 * The support-triage package for tests that stop a process in the middle of a step: with KEEL_TEST_GATE_FILE set,
 * `get_order` prints `GATE <runId>` and waits (honouring its abort signal) until that file exists, then looks the
 * order up as usual. Without it, the package is the example itself. Served with `--packages` by spawned `keel`s.
 */
import { existsSync } from "node:fs";
import { supportTriage } from "../../examples/support-triage/index.ts";
import { createSupportTools } from "../../examples/support-triage/tools/create-support-tools.ts";
import type { AgentPackage } from "../../src/runtime/agent-package.ts";
import type { Tool } from "../../src/tools/tool.ts";

const gateFile = process.env.KEEL_TEST_GATE_FILE;

function gated(tool: Tool): Tool {
  if (!gateFile || tool.name !== "get_order") return tool;
  return {
    ...tool,
    timeoutMs: 120_000,
    async execute(input, context) {
      process.stdout.write(`GATE ${context.runId}\n`);
      while (!existsSync(gateFile)) {
        context.signal.throwIfAborted();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return await tool.execute(input, context);
    },
  };
}

export const agentPackages: AgentPackage[] = [
  { ...supportTriage, createTools: (context) => createSupportTools(context).map(gated) },
];
