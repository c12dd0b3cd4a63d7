import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { postRunAndSettle } from "../../test/support/post-run.ts";
import { startTenantServer } from "../../test/support/tenant-agents.ts";
import { importAgentPackages } from "../cli/agent-packages.ts";
import { KeelError } from "../errors/index.ts";
import { openStore } from "../store/open-store.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { type RunningServer, startServer } from "./start-server.ts";

/**
 * Two offline packages whose only tool is the remote A2A agent at `card`, its key read from REMOTE_KEY: the agent
 * `desk`, whose model calls it, and the workflow `ask-acme`, whose tool node does.
 */
function writeDeskAgent(card: string): string {
  const dir = mkdtempSync(join(tmpdir(), "keel-a2a-desk-"));
  writeFileSync(
    join(dir, "agent.yaml"),
    `apiVersion: keel/v1
kind: Agent
name: desk
version: 1.0.0
description: Asks acme's helper.
owner: { team: desk }
riskTier: 3
prompt: ./prompt.md
model: { provider: rules, id: offline, offline: ./rules.yaml }
tools: [acme_helper]
governance:
  allowedTools: [acme_helper]
  decisionAuthority: { autonomous: [acme_helper] }
http:
  allowHosts: [127.0.0.1]
  allowPrivateNetworks: true
a2a:
  agents:
    - name: acme-helper
      as: acme_helper
      card: ${card}
      headers: { authorization: { fromEnv: REMOTE_KEY, prefix: "Bearer " } }
      dataClasses: [internal]
`,
  );
  writeFileSync(join(dir, "prompt.md"), "You ask acme's helper.\n");
  writeFileSync(
    join(dir, "rules.yaml"),
    `apiVersion: keel/v1
kind: RulesTable
rules:
  - name: ask
    when: { lastTool: none }
    call: { tool: acme_helper, arguments: { input: "{{input}}" } }
  - name: done
    when: { lastTool: acme_helper }
    answer: asked
`,
  );
  writeFileSync(
    join(dir, "workflow.yaml"),
    `apiVersion: keel/v1
kind: Workflow
name: ask-acme
version: 1.0.0
description: Asks acme's helper and keeps its answer.
owner: { team: desk }
riskTier: 3
state:
  reply: { type: object }
start: ask
nodes:
  ask:
    tool: { name: acme-helper, args: { input: "\${input}" } }
    writes: reply
    next: done
  done:
    end: { output: "acme said: \${state.reply.answer}" }
governance:
  allowedTools: [acme-helper]
  decisionAuthority: { autonomous: [acme-helper] }
http:
  allowHosts: [127.0.0.1]
  allowPrivateNetworks: true
a2a:
  agents:
    - name: acme-helper
      card: ${card}
      headers: { authorization: { fromEnv: REMOTE_KEY, prefix: "Bearer " } }
`,
  );
  const index = join(dir, "index.ts");
  const packageOf = (name: string, file: string) =>
    `{ name: "${name}", specFile: ${JSON.stringify(join(dir, file))}, createTools: () => [] }`;
  writeFileSync(
    index,
    `export const agentPackages = [${packageOf("desk", "agent.yaml")}, ${packageOf("ask-acme", "workflow.yaml")}];\n`,
  );
  return pathToFileURL(index).pathname;
}

describe("an agent's remote A2A agents, loaded by the server from its spec", () => {
  let remote: Awaited<ReturnType<typeof startTenantServer>>;
  let store: SqlStore;
  let server: RunningServer;
  let card: string;

  before(async () => {
    remote = await startTenantServer();
    card = `${remote.server.url}/a2a/acme-helper/.well-known/agent-card.json`;
    store = await openStore({});
    server = await startServer({
      store,
      packages: await importAgentPackages(writeDeskAgent(card)),
      env: { REMOTE_KEY: remote.keys["acme-invoker"] },
      host: "127.0.0.1",
      port: 0,
      log: () => undefined,
    });
  });
  after(async () => {
    await server.close();
    await store.close();
    await remote.server.close();
    await remote.store.close();
  });

  /** Start a run of `agent` through the API and wait until it stops moving; answers its id. */
  const runToEnd = (agent: string, input: string) =>
    postRunAndSettle({ url: server.url, store, agent, input });

  test("a run asks the remote Keel agent with the key from the server's environment, and journals its answer", async () => {
    const runId = await runToEnd("desk", "hello acme");
    assert.equal((await store.getRun(runId))?.status, "completed");
    const end = (await store.readEvents({ runId })).find((event) => event.type === "tool-call-end");
    assert.ok(end?.type === "tool-call-end");
    assert.equal(end.payload.outcome, "ok");
    assert.deepEqual(end.payload.dataClasses, ["internal"]);
    const result = end.payload.result as { status: string; answer: string; taskId: string };
    assert.equal(result.status, "completed");
    assert.equal(result.answer, "acme says hello");
    assert.equal((await remote.store.getRun(result.taskId))?.input, "hello acme");
  });

  test("a workflow's tool node calls the remote agent declared in the workflow, governed as the workflow's tool", async () => {
    const runId = await runToEnd("ask-acme", "hi from the workflow");
    const run = await store.getRun(runId);
    assert.equal(run?.status, "completed", run?.error?.message);
    assert.equal(run?.answer, "acme said: acme says hello");
    const events = await store.readEvents({ runId });
    const decision = events.find((event) => event.type === "policy-decision");
    assert.ok(decision?.type === "policy-decision");
    assert.equal(decision.payload.decision, "allow");
  });

  test("a server whose remote agent's card cannot be read does not start, and says which field and why", async () => {
    const other = await openStore({});
    try {
      await assert.rejects(
        startServer({
          store: other,
          packages: await importAgentPackages(writeDeskAgent(card)),
          env: { REMOTE_KEY: "keel_wrong" },
          host: "127.0.0.1",
          port: 0,
          log: () => undefined,
        }),
        (error: unknown) =>
          error instanceof KeelError &&
          error.code === "invalid_spec" &&
          /a2a\.agents\[0\]\.card: the Agent Card of acme-helper at .* could not be read: .*401/.test(
            error.message,
          ),
      );
    } finally {
      await other.close();
    }
  });
});
