import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { startTenantServer } from "../../test/support/tenant-agents.ts";
import type { SqlStore } from "../store/sql-store.ts";
import type { RunningServer } from "./start-server.ts";

type RunAnswer = {
  runId: string;
  status: string;
  answer: string | null;
  approvalId?: string;
  explanation?: string;
};

describe("Keel as an MCP server, reached with the official MCP client", () => {
  let store: SqlStore;
  let server: RunningServer;
  const keys: Record<string, string> = {};
  const clients: Client[] = [];

  /** A connected MCP client holding `key`, as Claude Desktop or an IDE would connect. */
  const connect = async (key: string | null) => {
    const client = new Client({ name: "keel-test", version: "1.0.0" });
    const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
      requestInit: { headers: key === null ? {} : { authorization: `Bearer ${key}` } },
    });
    await client.connect(transport);
    clients.push(client);
    return client;
  };
  const answerOf = (result: Awaited<ReturnType<Client["callTool"]>>) => result.structuredContent as RunAnswer;
  const textOf = (result: Awaited<ReturnType<Client["callTool"]>>) =>
    (result.content as { type: string; text: string }[]).map((part) => part.text).join("");

  before(async () => {
    ({ store, server } = await startTenantServer().then((started) => {
      Object.assign(keys, started.keys);
      return started;
    }));
  });
  after(async () => {
    for (const client of clients) await client.close();
    await server.close();
    await store.close();
  });

  test("lists the agents of the key's tenant as tools, with their input schema, and no other tenant's", async () => {
    const client = await connect(keys["acme-invoker"]!);
    assert.equal(client.getServerVersion()?.name, "keel");
    const { tools } = await client.listTools();
    assert.deepEqual(
      tools.map((tool) => tool.name),
      ["acme-helper", "keel_run_status"],
    );
    const helper = tools[0]!;
    assert.match(helper.description ?? "", /Answers acme's questions/);
    assert.deepEqual(helper.inputSchema.required, ["input"]);
    const theirs = await connect(keys["globex-invoker"]!);
    assert.deepEqual(
      (await theirs.listTools()).tools.map((tool) => tool.name),
      ["globex-helper", "keel_run_status"],
    );
  });

  test("a tool call runs the agent under the key's principal and answers its answer", async () => {
    const client = await connect(keys["acme-invoker"]!);
    const result = await client.callTool({ name: "acme-helper", arguments: { input: "hello there" } });
    assert.equal(result.isError, undefined);
    const answer = answerOf(result);
    assert.deepEqual([answer.status, answer.answer], ["completed", "acme says hello"]);
    assert.equal(textOf(result), "acme says hello");
    const run = await store.getRun(answer.runId);
    assert.deepEqual(run?.principal, { subject: "acme-invoker", tenant: "acme", roles: ["invoker"] });
    assert.equal(run?.input, "hello there");
  });

  test("a call the governor holds for a person answers the approval's id, and the run's status tool follows it to its end", async () => {
    const client = await connect(keys["acme-invoker"]!);
    const held = await client.callTool({
      name: "acme-helper",
      arguments: { input: "send a note to the team" },
    });
    const answer = answerOf(held);
    assert.equal(answer.status, "suspended");
    assert.match(answer.approvalId ?? "", /^apr_/);
    assert.match(textOf(held), new RegExp(`waits for a person's approval \\(${answer.approvalId}\\)`));
    const [approval] = await store.listApprovals({ runId: answer.runId });
    assert.equal(approval?.approvalId, answer.approvalId);

    const decided = await fetch(`${server.url}/v1/approvals/${answer.approvalId}/decision`, {
      method: "POST",
      headers: { authorization: `Bearer ${keys["acme-approver"]}`, "content-type": "application/json" },
      body: JSON.stringify({ decision: "approve", argumentsHash: approval?.argumentsHash }),
    });
    assert.equal(decided.status, 200, await decided.text());
    const ended = await client.callTool({
      name: "keel_run_status",
      arguments: { runId: answer.runId, waitSeconds: 60 },
    });
    assert.deepEqual(
      [answerOf(ended).status, answerOf(ended).answer],
      ["completed", "the note for acme is sent"],
    );
    // Another tenant's key cannot read the run, as if it did not exist.
    const theirs = await connect(keys["globex-invoker"]!);
    const foreign = await theirs.callTool({ name: "keel_run_status", arguments: { runId: answer.runId } });
    assert.equal(foreign.isError, true);
    assert.equal(textOf(foreign), `no run ${answer.runId}`);
  });

  test("a repeated idempotency key answers the run it started instead of starting another", async () => {
    const client = await connect(keys["acme-invoker"]!);
    const call = () =>
      client.callTool({ name: "acme-helper", arguments: { input: "hi", idempotencyKey: "mcp-once" } });
    const first = answerOf(await call());
    const second = answerOf(await call());
    assert.equal(second.runId, first.runId);
  });

  test("bad arguments are a tool error naming the field; an unknown tool is a protocol error", async () => {
    const client = await connect(keys["acme-invoker"]!);
    const missing = await client.callTool({ name: "acme-helper", arguments: {} });
    assert.equal(missing.isError, true);
    assert.match(textOf(missing), /^invalid arguments: input: /);
    const extra = await client.callTool({ name: "acme-helper", arguments: { input: "hi", sessionId: "x" } });
    assert.equal(extra.isError, true);
    assert.match(textOf(extra), /sessionId: not an argument of this tool/);
    const tooLong = await client.callTool({
      name: "acme-helper",
      arguments: { input: "hi", waitSeconds: 100_000 },
    });
    assert.match(textOf(tooLong), /waitSeconds: /);
    await assert.rejects(
      client.callTool({ name: "globex-helper", arguments: { input: "hi" } }),
      (error: unknown) => error instanceof McpError && /no tool named "globex-helper"/.test(error.message),
    );
    const before = (await store.listRuns({ tenant: "globex", limit: 100 })).runs;
    assert.equal(before.length, 0, "no run was started for another tenant's agent");
  });

  test("needs a key with the invoker role, as starting a run does", async () => {
    await assert.rejects(connect(null), /401|unauthorized|Unauthorized/);
    await assert.rejects(connect(keys["acme-viewer"]!), /403|needs one of the roles admin, invoker/);
  });

  test("is stateless: GET and DELETE answer 405 with Allow: POST", async () => {
    for (const method of ["GET", "DELETE"]) {
      const response = await fetch(`${server.url}/mcp`, {
        method,
        headers: { authorization: `Bearer ${keys["acme-invoker"]}`, accept: "text/event-stream" },
      });
      assert.equal(response.status, 405, method);
      assert.equal(response.headers.get("allow"), "POST");
    }
  });
});
