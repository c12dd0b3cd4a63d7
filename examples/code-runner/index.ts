/**
 * The code-runner example: an agent that answers by running Python it writes in a bubblewrap sandbox (the spec's
 * `code` section). Serve it with `npx keel serve --packages examples/code-runner/index.ts`.
 */
import { join } from "node:path";
import type { AgentPackage } from "../../src/runtime/agent-package.ts";

export const codeRunner = {
  name: "code-runner",
  specFile: join(import.meta.dirname, "agent.yaml"),
  createTools: () => [],
} satisfies AgentPackage;

export const agentPackages: AgentPackage[] = [codeRunner];
