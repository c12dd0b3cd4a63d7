import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ServerType, serve } from "@hono/node-server";
import { type AgentPackage, defineAgent } from "../../src/runtime/index.ts";

/**
 * An offline agent `helper` with its current version 1.0.0 and a candidate 1.1.0 served beside it
 * (docs/rollout.md), each answering every input with its own line of `answers`.
 */
export function writeVersionedAgent(
  options: { tenant?: string; rollout?: string; answers?: { stable: string; candidate: string } } = {},
): AgentPackage {
  const dir = mkdtempSync(join(tmpdir(), "keel-versioned-agent-"));
  const answers = options.answers ?? { stable: "hi", candidate: "hi" };
  const spec = (version: string, rules: string) => `apiVersion: keel/v1
kind: Agent
name: helper
version: ${version}
description: Answers.
owner: { team: ops }
${options.tenant ? `tenant: ${options.tenant}\n` : ""}riskTier: 3
prompt: ./prompt.md
model: { provider: rules, id: offline, offline: ./${rules} }
governance: { allowedTools: [] }
${options.rollout ? `rollout: ${options.rollout}\n` : ""}`;
  const rules = (answer: string) =>
    `apiVersion: keel/v1\nkind: RulesTable\nrules:\n  - { name: a, answer: ${JSON.stringify(answer)} }\n`;
  writeFileSync(join(dir, "prompt.md"), "You answer.\n");
  writeFileSync(join(dir, "stable.yaml"), rules(answers.stable));
  writeFileSync(join(dir, "candidate.yaml"), rules(answers.candidate));
  writeFileSync(join(dir, "agent.yaml"), spec("1.0.0", "stable.yaml"));
  writeFileSync(join(dir, "1.1.0.yaml"), spec("1.1.0", "candidate.yaml"));
  return defineAgent({ spec: join(dir, "agent.yaml"), versions: [join(dir, "1.1.0.yaml")], tools: [] });
}

/** Serve a fetch handler (Keel's API) on a free loopback port; `close` stops listening. */
export async function listenOnLoopback(
  fetch: (request: Request) => Response | Promise<Response>,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = await new Promise<ServerType>((resolve) => {
    const created = serve({ fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(created));
  });
  const address = server.address();
  return {
    url: `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
