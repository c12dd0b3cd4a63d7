import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { driveRun } from "../../test/support/drive-run.ts";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import { writeTenantAgents } from "../../test/support/tenant-agents.ts";
import { importAgentPackages } from "../cli/agent-packages.ts";
import { createSqlApiKeyStore } from "../governance/sql-api-key-store.ts";
import { createScriptedModelProvider } from "../models/index.ts";
import { type RunningServer, startServer } from "../server/start-server.ts";
import { McpSection } from "../spec/index.ts";
import { createSqlMcpToolPins, type SqlStore } from "../store/index.ts";
import { openStore } from "../store/open-store.ts";
import { connectMcpTools, type McpToolset } from "./index.ts";

/**
 * Keel calling a streamable HTTP MCP server: another Keel's `/mcp`, behind its API keys, whose agents are tools.
 * A real server speaking the protocol, reached with a key read from the environment as the spec says.
 */
describe("MCP tools from a streamable HTTP server, with headers from the environment", () => {
  let remoteStore: SqlStore;
  let remote: RunningServer;
  let store: SqlStore;
  let invokerKey: string;
  const toolsets: McpToolset[] = [];

  const servers = (url: string) =>
    McpSection.parse({
      servers: [
        {
          name: "remote",
          url,
          headers: { Authorization: { fromEnv: "REMOTE_KEEL_KEY", prefix: "Bearer " } },
          timeout: "30s",
          tools: [{ name: "acme-helper", dataClasses: ["internal"], sendsDataOutside: true }],
        },
      ],
    }).servers;
  const connect = async (env: Record<string, string>, agent = "caller") => {
    const toolset = await connectMcpTools({
      agent,
      version: "1.0.0",
      specFile: "/specs/caller/agent.yaml",
      servers: servers(`${remote.url}/mcp`),
      env,
      pins: createSqlMcpToolPins(store.sql),
      log: () => undefined,
    });
    toolsets.push(toolset);
    return toolset;
  };

  before(async () => {
    remoteStore = await openStore({});
    invokerKey = (
      await createSqlApiKeyStore(remoteStore.sql).create({
        tenant: "acme",
        roles: ["invoker"],
        name: "caller-keel",
        createdBy: "test",
      })
    ).token;
    remote = await startServer({
      store: remoteStore,
      packages: await importAgentPackages(writeTenantAgents(["acme"])),
      env: {},
      host: "127.0.0.1",
      port: 0,
      log: () => undefined,
    });
    store = await openStore({});
  });
  after(async () => {
    for (const toolset of toolsets) await toolset.close();
    await remote.close();
    await remoteStore.close();
    await store.close();
  });

  test("a governed run calls the remote agent as a tool and journals its answer", async () => {
    const toolset = await connect({ REMOTE_KEEL_KEY: invokerKey });
    const [tool] = toolset.tools;
    assert.equal(tool?.name, "remote_acme-helper");
    assert.equal(tool?.sendsDataOutside, true);
    assert.match(tool?.description ?? "", /Answers acme's questions/);
    const agent = {
      ...scriptedAgent({ name: "caller", turns: [], tools: toolset.tools }),
      provider: createScriptedModelProvider({
        turns: (request) =>
          request.messages.at(-1)?.role === "tool"
            ? { kind: "answer", text: "done" }
            : {
                kind: "tool-calls",
                calls: [{ callId: "c1", tool: "remote_acme-helper", arguments: { input: "hello" } }],
              },
      }),
    };
    const { events } = await driveRun({ store, agent, input: "ask acme" });
    const end = events.find((event) => event.type === "tool-call-end");
    assert.ok(end?.type === "tool-call-end");
    assert.equal(end.payload.outcome, "ok");
    const result = end.payload.result as { runId: string; status: string; answer: string };
    assert.deepEqual([result.status, result.answer], ["completed", "acme says hello"]);
    // The remote run is the remote Keel's own, under the key's principal.
    const remoteRun = await remoteStore.getRun(result.runId);
    assert.deepEqual(remoteRun?.principal, { subject: "caller-keel", tenant: "acme", roles: ["invoker"] });
  });

  test("a variable the headers read that is not set, or a key the server refuses, stops startup saying why", async () => {
    await assert.rejects(
      connect({}),
      /agent\.yaml: MCP server remote: headers\.Authorization reads REMOTE_KEEL_KEY, which is not set/,
    );
    await assert.rejects(
      connect({ REMOTE_KEEL_KEY: "keel_0000000000000000_wrong" }, "never-connected"),
      /cannot use MCP tool remote\/acme-helper: the server could not be reached .*the API key is not valid/,
    );
  });
});
