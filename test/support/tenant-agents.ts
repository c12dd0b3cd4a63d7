import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/**
 * Write one small offline agent package per tenant into a temporary directory: `<tenant>-helper`, whose spec says
 * `tenant: <tenant>`. An input mentioning "note" makes it call `send_note`, which a person must approve (roles
 * `approver:<tenant>-helper`); anything else is answered at once. Returns the module listing the packages.
 */
export function writeTenantAgents(tenants: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "keel-tenants-"));
  const toolModule = pathToFileURL(join(import.meta.dirname, "..", "..", "src", "tools", "tool.ts")).href;
  const packages: string[] = [];
  for (const tenant of tenants) {
    const name = `${tenant}-helper`;
    writeFileSync(
      join(dir, `${name}.yaml`),
      `apiVersion: keel/v1
kind: Agent
name: ${name}
version: 1.0.0
description: Answers ${tenant}'s questions and sends notes a person approves.
owner: { team: ${tenant}-team }
tenant: ${tenant}
riskTier: 2
prompt: ./${name}.md
model: { provider: rules, id: offline, offline: ./${name}.rules.yaml }
tools: [send_note]
governance:
  allowedTools: [send_note]
  decisionAuthority: { requiresHumanReview: [send_note] }
`,
    );
    writeFileSync(join(dir, `${name}.md`), `You help ${tenant}.\n`);
    writeFileSync(
      join(dir, `${name}.rules.yaml`),
      `apiVersion: keel/v1
kind: RulesTable
rules:
  - name: note
    when: { lastTool: none, input: 'note' }
    call: { tool: send_note, arguments: { text: "{{input}}" } }
  - name: sent
    when: { lastTool: send_note }
    answer: the note for ${tenant} is sent
  - name: answer
    answer: ${tenant} says hello
`,
    );
    packages.push(`{
  name: ${JSON.stringify(name)},
  specFile: ${JSON.stringify(join(dir, `${name}.yaml`))},
  createTools: () => [defineTool({
    name: "send_note",
    description: "Send a note.",
    sideEffect: true,
    input: z.object({ text: z.string() }),
    async execute({ text }) { return { sent: text.length }; },
  })],
}`);
  }
  const index = join(dir, "index.ts");
  writeFileSync(
    index,
    `import { z } from ${JSON.stringify(import.meta.resolve("zod"))};
import { defineTool } from ${JSON.stringify(toolModule)};
export const agentPackages = [${packages.join(",\n")}];
`,
  );
  return index;
}
