import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { importAgentPackages } from "../../src/cli/agent-packages.ts";
import { createSqlApiKeyStore } from "../../src/governance/sql-api-key-store.ts";
import { type RunningServer, type ServerOptions, startServer } from "../../src/server/start-server.ts";
import { openStore } from "../../src/store/open-store.ts";
import type { SqlStore } from "../../src/store/sql-store.ts";

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

/**
 * A server over loopback on a fresh PGlite store serving the tenant agents of `acme` and `globex`, with API keys:
 * `acme-invoker`, `acme-viewer`, `acme-approver` (may decide acme-helper's requests) and `globex-invoker`.
 */
export async function startTenantServer(): Promise<{
  store: SqlStore;
  server: RunningServer;
  keys: Record<"acme-invoker" | "acme-viewer" | "acme-approver" | "globex-invoker", string>;
}> {
  const store = await openStore({});
  const apiKeys = createSqlApiKeyStore(store.sql);
  const make = async (label: string, tenant: string, roles: string[]) =>
    (await apiKeys.create({ tenant, roles, name: label, createdBy: "test" })).token;
  const keys = {
    "acme-invoker": await make("acme-invoker", "acme", ["invoker"]),
    "acme-viewer": await make("acme-viewer", "acme", ["viewer"]),
    "acme-approver": await make("acme-approver", "acme", ["approver", "approver:acme-helper"]),
    "globex-invoker": await make("globex-invoker", "globex", ["invoker"]),
  };
  const server = await startServer({
    store,
    packages: await importAgentPackages(writeTenantAgents(["acme", "globex"])),
    env: {},
    host: "127.0.0.1",
    port: 0,
    log: () => undefined,
  });
  return { store, server, keys };
}

/**
 * A server over loopback serving the tenant agents of `default`, on `store` or a fresh PGlite store, with any other
 * server options given. In development mode (every request is the local developer of tenant `default`) unless the
 * store holds API keys. `close` stops the server, and the store when it opened it.
 */
export async function startDefaultServer(
  options: Partial<Omit<ServerOptions, "store">> & { store?: SqlStore } = {},
): Promise<{ store: SqlStore; server: RunningServer; close: () => Promise<void> }> {
  const store = options.store ?? (await openStore({}));
  const server = await startServer({
    packages: await importAgentPackages(writeTenantAgents(["default"])),
    env: {},
    host: "127.0.0.1",
    port: 0,
    log: () => undefined,
    ...options,
    store,
  });
  return {
    store,
    server,
    close: async () => {
      await server.close();
      if (!options.store) await store.close();
    },
  };
}
