import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { postRunAndSettle } from "../../test/support/post-run.ts";
import { importAgentPackages } from "../cli/agent-packages.ts";
import { createSqlApiKeyStore } from "../governance/sql-api-key-store.ts";
import { openStore } from "../store/open-store.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { type RunningServer, startServer } from "./start-server.ts";

/** An offline agent package whose only tool is an HTTP call to `port` on loopback, its token read from ORDERS_TOKEN. */
function writeHttpAgent(port: number): string {
  const dir = mkdtempSync(join(tmpdir(), "keel-http-agent-"));
  writeFileSync(
    join(dir, "agent.yaml"),
    `apiVersion: keel/v1
kind: Agent
name: order-desk
version: 1.0.0
description: Looks orders up through the orders API.
owner: { team: desk }
riskTier: 3
prompt: ./prompt.md
model: { provider: rules, id: offline, offline: ./rules.yaml }
tools: [get_order]
governance:
  allowedTools: [get_order]
  decisionAuthority: { autonomous: [get_order] }
http:
  allowHosts: [127.0.0.1]
  allowPrivateNetworks: true
  tools:
    - name: get_order
      description: Look an order up by its id.
      url: http://127.0.0.1:${port}/orders/{id}
      headers: { authorization: { fromEnv: ORDERS_TOKEN, prefix: "Bearer " } }
      input: { type: object, properties: { id: { type: string } }, required: [id] }
      dataClasses: [internal]
`,
  );
  writeFileSync(join(dir, "prompt.md"), "You look orders up.\n");
  writeFileSync(
    join(dir, "rules.yaml"),
    `apiVersion: keel/v1
kind: RulesTable
rules:
  - name: lookup
    when: { lastTool: none }
    call: { tool: get_order, arguments: { id: "{{input}}" } }
  - name: done
    when: { lastTool: get_order }
    answer: looked up
`,
  );
  const index = join(dir, "index.ts");
  writeFileSync(
    index,
    `export const agentPackages = [{ name: "order-desk", specFile: ${JSON.stringify(join(dir, "agent.yaml"))}, createTools: () => [] }];\n`,
  );
  return pathToFileURL(index).pathname;
}

describe("an agent's HTTP tools, loaded by the server from its spec", () => {
  let store: SqlStore;
  let server: RunningServer;
  let api: Server;
  let key: string;
  const received: { url: string; headers: IncomingHttpHeaders }[] = [];

  before(async () => {
    api = createServer((request, response) => {
      received.push({ url: request.url!, headers: request.headers });
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ id: request.url!.split("/").at(-1), status: "shipped" }));
    });
    await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
    store = await openStore({});
    key = (
      await createSqlApiKeyStore(store.sql).create({
        tenant: "default",
        roles: ["invoker"],
        name: "invoker",
        createdBy: "t",
      })
    ).token;
    server = await startServer({
      store,
      packages: await importAgentPackages(writeHttpAgent((api.address() as AddressInfo).port)),
      env: { ORDERS_TOKEN: "s3cret" },
      host: "127.0.0.1",
      port: 0,
      log: () => undefined,
    });
  });
  after(async () => {
    await server.close();
    await store.close();
    api.close();
  });

  test("a run calls the declared HTTP tool with the secret from the server's environment, and journals its result", async () => {
    const runId = await postRunAndSettle({ url: server.url, store, key, agent: "order-desk", input: "O-42" });
    assert.equal((await store.getRun(runId))?.status, "completed");
    const end = (await store.readEvents({ runId })).find((event) => event.type === "tool-call-end");
    assert.ok(end?.type === "tool-call-end");
    assert.equal(end.payload.outcome, "ok");
    assert.deepEqual(end.payload.result, { id: "O-42", status: "shipped" });
    assert.deepEqual(
      received.map((request) => [request.url, request.headers.authorization]),
      [["/orders/O-42", "Bearer s3cret"]],
    );
  });
});
