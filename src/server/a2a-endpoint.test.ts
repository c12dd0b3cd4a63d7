import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { type Message, Role, type StreamResponse, type Task, TaskState } from "@a2a-js/sdk";
import {
  type Client,
  ClientFactory,
  ClientFactoryOptions,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
} from "@a2a-js/sdk/client";
import { startTenantServer, writeTenantAgents } from "../../test/support/tenant-agents.ts";
import { importAgentPackages } from "../cli/agent-packages.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { type RunningServer, startServer } from "./start-server.ts";

/** A JSON-RPC error answer, or Keel's own error body for a request that never reached JSON-RPC. */
type RpcAnswer = { id?: unknown; error: { code: number | string; message: string } };
type CardJson = {
  name: string;
  version: string;
  description: string;
  supportedInterfaces: unknown;
  capabilities: { streaming: boolean };
  defaultInputModes: string[];
  skills: { id: string }[];
  securitySchemes: { bearer: { httpAuthSecurityScheme: { scheme: string } } };
  securityRequirements: unknown;
};

describe("each agent as an A2A agent, reached with the official A2A client from its card URL", () => {
  let store: SqlStore;
  let server: RunningServer;
  const keys: Record<string, string> = {};

  const cardUrl = (agent: string) => `${server.url}/a2a/${agent}/.well-known/agent-card.json`;
  /** A fetch that sends `key` as a bearer key, as a deployment's A2A caller would. */
  const keyed =
    (key: string): typeof fetch =>
    (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set("authorization", `Bearer ${key}`);
      return fetch(input, { ...init, headers });
    };
  /** The official client, created from the agent's card URL, holding `key`. */
  const connect = async (agent: string, key: string): Promise<Client> => {
    const fetchImpl = keyed(key);
    const factory = new ClientFactory(
      ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
        transports: [new JsonRpcTransportFactory({ fetchImpl })],
        cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
      }),
    );
    return await factory.createFromUrl(cardUrl(agent), "");
  };
  const userMessage = (text: string): Message => ({
    messageId: randomUUID(),
    contextId: "",
    taskId: "",
    role: Role.ROLE_USER,
    parts: [{ content: { $case: "text", value: text }, metadata: undefined, filename: "", mediaType: "" }],
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  });
  const send = async (client: Client, text: string, returnImmediately = false) => {
    const result = await client.sendMessage({
      tenant: "",
      message: userMessage(text),
      configuration: {
        acceptedOutputModes: ["text/plain"],
        taskPushNotificationConfig: undefined,
        returnImmediately,
      },
      metadata: undefined,
    });
    assert.ok("status" in result, "a message is answered with its task");
    return result as Task;
  };
  const textOf = (message: Message | undefined) =>
    (message?.parts ?? []).map((part) => (part.content?.$case === "text" ? part.content.value : "")).join("");
  /** A raw JSON-RPC request to the agent's endpoint, as a hand-written client would send it. */
  const rpc = async (agent: string, key: string, body: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${server.url}/a2a/${agent}`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${key}`,
        "content-type": "application/json",
        "a2a-version": "1.0",
        ...headers,
      },
      body,
    });
    return { status: response.status, body: (await response.json()) as RpcAnswer };
  };

  before(async () => {
    ({ store, server } = await startTenantServer().then((started) => {
      Object.assign(keys, started.keys);
      return started;
    }));
  });
  after(async () => {
    await server.close();
    await store.close();
  });

  test("serves the agent's card: its JSON-RPC address from the request's URL, streaming, one skill, the bearer scheme", async () => {
    const response = await fetch(cardUrl("acme-helper"), {
      headers: { authorization: `Bearer ${keys["acme-viewer"]}` },
    });
    assert.equal(response.status, 200);
    const card = (await response.json()) as CardJson;
    assert.equal(card.name, "acme-helper");
    assert.equal(card.version, "1.0.0");
    assert.match(card.description, /Answers acme's questions/);
    assert.deepEqual(card.supportedInterfaces, [
      { url: `${server.url}/a2a/acme-helper`, protocolBinding: "JSONRPC", protocolVersion: "1.0" },
    ]);
    assert.equal(card.capabilities.streaming, true);
    assert.deepEqual(card.defaultInputModes, ["text/plain"]);
    assert.deepEqual(
      card.skills.map((skill) => skill.id),
      ["acme-helper"],
    );
    assert.equal(card.securitySchemes.bearer.httpAuthSecurityScheme.scheme, "Bearer");
    // Any bearer key: the scheme needs no scopes.
    assert.deepEqual(card.securityRequirements, [{ schemes: { bearer: {} } }]);
  });

  test("a message starts a run under the key's principal and its task completes with the answer", async () => {
    const client = await connect("acme-helper", keys["acme-invoker"]!);
    const task = await send(client, "hello there");
    assert.equal(task.status?.state, TaskState.TASK_STATE_COMPLETED);
    assert.equal(textOf(task.status?.message), "acme says hello");
    assert.equal(task.artifacts.length, 1);
    assert.deepEqual(
      task.artifacts[0]!.parts.map((part) => part.content),
      [{ $case: "text", value: "acme says hello" }],
    );
    const run = await store.getRun(task.id);
    assert.deepEqual(run?.principal, { subject: "acme-invoker", tenant: "acme", roles: ["invoker"] });
    assert.equal(run?.input, "hello there");
    assert.equal(run?.status, "completed");
  });

  test("a streamed message reports the task, its progress and its final state with the answer", async () => {
    const client = await connect("acme-helper", keys["acme-invoker"]!);
    const events: StreamResponse[] = [];
    for await (const event of client.sendMessageStream({
      tenant: "",
      message: userMessage("hello again"),
      configuration: undefined,
      metadata: undefined,
    }))
      events.push(event);
    assert.equal(events[0]?.payload?.$case, "task");
    const last = events.at(-1)?.payload;
    assert.equal(last?.$case, "statusUpdate");
    assert.equal(last.$case === "statusUpdate" && last.value.status?.state, TaskState.TASK_STATE_COMPLETED);
    const artifact = events.find((event) => event.payload?.$case === "artifactUpdate")?.payload;
    assert.equal(artifact?.$case, "artifactUpdate");
    assert.deepEqual(artifact.$case === "artifactUpdate" && artifact.value.artifact?.parts[0]?.content, {
      $case: "text",
      value: "acme says hello",
    });
    const progress = events.filter(
      (event) =>
        event.payload?.$case === "statusUpdate" &&
        event.payload.value.status?.state === TaskState.TASK_STATE_WORKING,
    );
    assert.ok(progress.length >= 1, "at least one step is reported while the run works");
  });

  test("a run held for a person's approval is a task waiting for authorization that names the approval; cancel ends it", async () => {
    const client = await connect("acme-helper", keys["acme-invoker"]!);
    const held = await send(client, "send a note to the team");
    assert.equal(held.status?.state, TaskState.TASK_STATE_AUTH_REQUIRED);
    const [approval] = await store.listApprovals({ runId: held.id });
    assert.match(approval?.approvalId ?? "", /^apr_/);
    assert.match(
      textOf(held.status?.message),
      new RegExp(`waits for a person's approval \\(${approval?.approvalId}\\)`),
    );
    assert.equal(held.metadata?.keel.approvalId, approval?.approvalId);

    // GetTask reads the run from the store: any process answers it.
    const got = await client.getTask({ tenant: "", id: held.id });
    assert.equal(got.status?.state, TaskState.TASK_STATE_AUTH_REQUIRED);

    const cancelled = await client.cancelTask({ tenant: "", id: held.id, metadata: undefined });
    assert.equal(cancelled.status?.state, TaskState.TASK_STATE_CANCELED);
    assert.equal((await store.getRun(held.id))?.status, "cancelled");
    await assert.rejects(
      client.cancelTask({ tenant: "", id: held.id, metadata: undefined }),
      /already ended as cancelled/,
    );
  });

  test("another Keel process on the same store answers GetTask and SubscribeToTask for the task", async () => {
    const held = await send(
      await connect("acme-helper", keys["acme-invoker"]!),
      "a note for the other process",
    );
    const other = await startServer({
      store,
      packages: await importAgentPackages(writeTenantAgents(["acme", "globex"])),
      env: {},
      host: "127.0.0.1",
      port: 0,
      log: () => undefined,
    });
    try {
      const fetchImpl = keyed(keys["acme-invoker"]!);
      const client = await new ClientFactory(
        ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
          transports: [new JsonRpcTransportFactory({ fetchImpl })],
          cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
        }),
      ).createFromUrl(`${other.url}/a2a/acme-helper/.well-known/agent-card.json`, "");
      const got = await client.getTask({ tenant: "", id: held.id });
      assert.deepEqual([got.id, got.status?.state], [held.id, TaskState.TASK_STATE_AUTH_REQUIRED]);
      const events: StreamResponse[] = [];
      for await (const event of client.resubscribeTask({ tenant: "", id: held.id })) events.push(event);
      assert.equal(
        events.length,
        1,
        "a task waiting for a person is reported as it stands, then the stream ends",
      );
      const [first] = events;
      assert.equal(
        first?.payload?.$case === "task" && first.payload.value.status?.state,
        TaskState.TASK_STATE_AUTH_REQUIRED,
      );
    } finally {
      await other.close();
    }
  });

  test("an approved run's task completes, as GetTask then shows", async () => {
    const client = await connect("acme-helper", keys["acme-invoker"]!);
    const held = await send(client, "send a note please");
    const [approval] = await store.listApprovals({ runId: held.id });
    const decided = await fetch(`${server.url}/v1/approvals/${approval?.approvalId}/decision`, {
      method: "POST",
      headers: { authorization: `Bearer ${keys["acme-approver"]}`, "content-type": "application/json" },
      body: JSON.stringify({ decision: "approve", argumentsHash: approval?.argumentsHash }),
    });
    assert.equal(decided.status, 200, await decided.text());
    let task = await client.getTask({ tenant: "", id: held.id });
    for (let tries = 0; task.status?.state !== TaskState.TASK_STATE_COMPLETED && tries < 100; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      task = await client.getTask({ tenant: "", id: held.id });
    }
    assert.equal(textOf(task.status?.message), "the note for acme is sent");
  });

  test("another tenant's agent and tasks are as absent as missing ones", async () => {
    const theirs = await fetch(cardUrl("acme-helper"), {
      headers: { authorization: `Bearer ${keys["globex-invoker"]}` },
    });
    assert.equal(theirs.status, 404);
    await theirs.body?.cancel();
    const missing = await fetch(cardUrl("nobody-here"), {
      headers: { authorization: `Bearer ${keys["globex-invoker"]}` },
    });
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    await assert.rejects(connect("acme-helper", keys["globex-invoker"]!), /404/);
    const posted = await rpc(
      "acme-helper",
      keys["globex-invoker"]!,
      JSON.stringify({ jsonrpc: "2.0", id: 1, method: "GetTask", params: { id: "x" } }),
    );
    assert.equal(posted.status, 404);

    const mine = await send(await connect("acme-helper", keys["acme-invoker"]!), "hi");
    const globex = await connect("globex-helper", keys["globex-invoker"]!);
    await assert.rejects(globex.getTask({ tenant: "", id: mine.id }), new RegExp(`no task "${mine.id}"`));
    assert.equal((await store.listRuns({ tenant: "globex", limit: 10 })).runs.length, 0);
  });

  test("needs a key, and the invoker role to send", async () => {
    const anonymous = await fetch(cardUrl("acme-helper"));
    assert.equal(anonymous.status, 401);
    await anonymous.body?.cancel();
    const viewer = await connect("acme-helper", keys["acme-viewer"]!);
    await assert.rejects(send(viewer, "hi"), /403/);
  });

  test("bad JSON-RPC and bad params are answered with JSON-RPC errors, never a 500", async () => {
    const key = keys["acme-invoker"]!;
    const call = (body: unknown, headers?: Record<string, string>) =>
      rpc("acme-helper", key, JSON.stringify(body), headers);

    const unknown = await call({ jsonrpc: "2.0", id: 1, method: "Nope", params: {} });
    assert.deepEqual([unknown.status, unknown.body.error.code], [200, -32601]);
    const notRpc = await call({ jsonrpc: "1.0", id: 2, method: "GetTask" });
    assert.equal(notRpc.status, 200);
    assert.match(notRpc.body.error.message, /Invalid JSON-RPC Request/);
    const badParams = await call({ jsonrpc: "2.0", id: 3, method: "GetTask", params: ["x"] });
    assert.equal(badParams.status, 200);
    assert.ok(Number(badParams.body.error.code) < 0);
    const noText = await call({
      jsonrpc: "2.0",
      id: 4,
      method: "SendMessage",
      params: { message: { messageId: "m1", role: "ROLE_USER", parts: [{ data: { a: 1 } }] } },
    });
    assert.equal(noText.status, 200);
    assert.match(noText.body.error.message, /message\.parts: needs a text part/);
    const noMessage = await call({ jsonrpc: "2.0", id: 5, method: "SendMessage", params: {} });
    assert.match(noMessage.body.error.message, /message: required/);
    const streamNoMessage = await call({ jsonrpc: "2.0", id: 6, method: "SendStreamingMessage", params: {} });
    assert.deepEqual([streamNoMessage.status, streamNoMessage.body.id], [200, 6]);
    assert.match(streamNoMessage.body.error.message, /message: required/);
    const noTask = await call({ jsonrpc: "2.0", id: 7, method: "GetTask", params: { id: "run_missing" } });
    assert.deepEqual([noTask.body.error.code, noTask.body.error.message], [-32001, 'no task "run_missing"']);
    const oldVersion = await call(
      { jsonrpc: "2.0", id: 8, method: "GetTask", params: { id: "x" } },
      { "a2a-version": "0.3" },
    );
    assert.equal(oldVersion.status, 200);
    assert.match(oldVersion.body.error.message, /version '0\.3' is not supported/);
    const notJson = await rpc("acme-helper", key, "{not json");
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.error.code, "invalid_request");
  });
});
