import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import type { ActionRequest } from "../governance/governor.ts";
import { hashPayload } from "../journal/hash.ts";
import type { AgentPackage } from "../runtime/agent-package.ts";
import type { KeelStore } from "../store/keel-store.ts";
import { openStore } from "../store/open-store.ts";
import { type RunningServer, startServer } from "./start-server.ts";

const dir = mkdtempSync(join(tmpdir(), "keel-reload-"));
const cap = (amount: number) =>
  `@id("cap") @reason("refunds above ${amount} are forbidden") forbid(principal, action == Keel::Action::"tool:issue_refund", resource) when { context.numbers has "amount" && context.numbers["amount"].greaterThan(decimal("${amount}.0")) };\n`;
const spec = (version: string) => `apiVersion: keel/v1
kind: Agent
name: refunder
version: ${version}
description: Refunds.
owner: { team: qa }
riskTier: 2
prompt: ./prompt.md
model: { provider: rules, id: offline, offline: ./rules.yaml }
tools: [issue_refund]
governance:
  allowedTools: [issue_refund]
  decisionAuthority: { autonomous: [issue_refund] }
  dataAccess: { allowFinancial: true }
  policies: [./team.cedar]
`;
writeFileSync(join(dir, "agent.yaml"), spec("1.0.0"));
writeFileSync(join(dir, "prompt.md"), "Refund.\n");
writeFileSync(
  join(dir, "rules.yaml"),
  "apiVersion: keel/v1\nkind: RulesTable\nrules:\n  - name: fallback\n    answer: ok\n",
);
writeFileSync(join(dir, "team.cedar"), cap(50));
writeFileSync(
  join(dir, "index.ts"),
  `import { z } from ${JSON.stringify(import.meta.resolve("zod"))};
import { defineTool } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, "..", "tools", "tool.ts")).href)};
export const agentPackages = [{
  name: "refunder",
  specFile: ${JSON.stringify(join(dir, "agent.yaml"))},
  createTools: () => [defineTool({
    name: "issue_refund",
    description: "Refund.",
    input: z.object({ amount: z.number() }),
    dataClasses: ["financial"],
    async execute() { return {}; },
  })],
}];
`,
);

const signal = new AbortController().signal;
const refund = (amount: number, callId = "c"): ActionRequest => ({
  kind: "tool-call",
  runId: "run_reload",
  agent: { name: "refunder", version: "1.0.0" },
  principal: { subject: "ada", tenant: "acme", roles: [] },
  tool: { name: "issue_refund", callId, arguments: { amount }, argumentsHash: hashPayload({ amount }) },
  dataClasses: [],
});

describe("reloading an agent's policies", () => {
  let store: KeelStore;
  let server: RunningServer;
  before(async () => {
    store = await openStore({});
    const { agentPackages } = (await import(pathToFileURL(join(dir, "index.ts")).href)) as {
      agentPackages: AgentPackage[];
    };
    server = await startServer({
      store,
      packages: agentPackages,
      env: {},
      host: "127.0.0.1",
      port: 0,
      log: () => undefined,
    });
  });
  after(async () => {
    await server.close();
    await store.close();
  });

  const reload = () => fetch(`${server.url}/v1/agents/refunder/policies/reload`, { method: "POST" });

  test("swaps in the edited Cedar file, with every decision made meanwhile on the old set or the new", async () => {
    assert.equal((await server.governor.decide(refund(60), { signal })).decision, "deny");
    writeFileSync(join(dir, "team.cedar"), cap(80));
    const during = Array.from({ length: 200 }, (_, index) =>
      server.governor.decide(refund(60, `c${index}`), { signal }),
    );
    const response = await reload();
    const outcomes = await Promise.all(during);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      agent: "refunder",
      version: "1.0.0",
      policies: 4,
      generation: 2,
    });
    for (const outcome of outcomes) {
      assert.ok(
        outcome.decision === "allow" || (outcome.decision === "deny" && outcome.code === "forbidden"),
        JSON.stringify(outcome),
      );
      if (outcome.decision === "allow") outcome.inFlight?.end();
    }
    assert.equal((await server.governor.decide(refund(60), { signal })).decision, "allow");
    assert.equal((await server.governor.decide(refund(90), { signal })).decision, "deny");
  });

  test("keeps the old policies when the new file does not parse", async () => {
    writeFileSync(join(dir, "team.cedar"), "forbid(principal, action, resource) when { ");
    const response = await reload();
    assert.equal(response.status, 400);
    assert.match(((await response.json()) as { error: { message: string } }).error.message, /team\.cedar/);
    assert.equal((await server.governor.decide(refund(60), { signal })).decision, "allow");
    writeFileSync(join(dir, "team.cedar"), cap(80));
  });

  test("refuses to reload a spec that is now another version", async () => {
    writeFileSync(join(dir, "agent.yaml"), spec("1.1.0"));
    const response = await reload();
    assert.equal(response.status, 409);
    writeFileSync(join(dir, "agent.yaml"), spec("1.0.0"));
  });
});
