/**
 * The support example with a wider crash window: `issue_refund` pauses after its refund is committed and before
 * it returns, so a process killed then leaves a refund that happened with no recorded end — the case a resumed
 * run must neither repeat nor report as refused. Its spec adds token budgets per run and per agent-day, so every
 * model turn also holds and settles budget across the kills. Loaded by the chaos tests with `keel serve --packages`.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
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

/** Caps far above what the chaos spends: the runs are never refused, but every model turn reserves and settles. */
const BUDGETS = `
budgets:
  perRun: { tokens: 1000000 }
  perAgentPerDay: { tokens: 1000000000 }
`;

/** The example's spec with its relative paths made absolute and `BUDGETS` added, written once per content. */
function budgetedSpecFile(): string {
  const exampleDir = dirname(supportTriage.specFile);
  const text =
    readFileSync(supportTriage.specFile, "utf8").replaceAll(/(?<=[\s[,])\.\//g, `${exampleDir}/`) + BUDGETS;
  const dir = join(
    tmpdir(),
    `keel-chaos-spec-${createHash("sha256").update(text).digest("hex").slice(0, 16)}`,
  );
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "agent.yaml");
  writeFileSync(file, text);
  return file;
}

export const agentPackages: AgentPackage[] = [
  {
    ...supportTriage,
    specFile: budgetedSpecFile(),
    createTools: (context) =>
      supportTriage
        .createTools(context)
        .map((tool) => (tool.name === "issue_refund" ? pauseAfterEffect(tool) : tool)),
  },
];
