import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type ServerType, serve } from "@hono/node-server";
import { type FaultProxy, startFaultProxy } from "../../test/support/fault-proxy.ts";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import { createTestDatabase, testDatabaseServerUrl } from "../../test/support/test-database.ts";
import { testGovernor } from "../../test/support/test-governor.ts";
import { createAgentCatalog } from "../runtime/agent-catalog.ts";
import { createWorker, type Worker } from "../runtime/worker.ts";
import { openStore } from "../store/open-store.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { createApp } from "./create-app.ts";

const agent = scriptedAgent({ name: "answerer", turns: [{ kind: "answer", text: "hello" }] });

/** The API over real HTTP on loopback, with its own worker, on `store`. */
async function serveApi(store: SqlStore, logs: string[]) {
  const agents = createAgentCatalog([agent]);
  const worker: Worker = createWorker({
    store,
    agents: agents.lookup,
    governor: await testGovernor([agent]),
    owner: "outage-api",
    log: (line) => logs.push(line),
  });
  const app = createApp({ store, agents, worker, log: (line) => logs.push(line) });
  worker.start();
  const server = await new Promise<ServerType>((resolve) => {
    const created = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(created));
  });
  const address = server.address();
  const base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  return {
    base,
    worker,
    async close() {
      await worker.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ("closeAllConnections" in server) server.closeAllConnections();
      });
    },
  };
}

/** The fields of the answers these tests read. */
type Answer = {
  error?: { code: string };
  ready?: boolean;
  reason?: string;
  id?: string;
  status?: string;
  events?: number;
};

async function get(base: string, path: string) {
  const response = await fetch(`${base}${path}`);
  return {
    status: response.status,
    retryAfter: response.headers.get("retry-after"),
    body: (await response.json()) as Answer,
  };
}

async function startRunOver(base: string) {
  const response = await fetch(`${base}/v1/agents/answerer/runs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ input: "hi" }),
  });
  return {
    status: response.status,
    retryAfter: response.headers.get("retry-after"),
    body: (await response.json()) as Answer,
  };
}

describe("the HTTP API while its embedded store is closed", () => {
  let store: SqlStore;
  let api: Awaited<ReturnType<typeof serveApi>>;
  const logs: string[] = [];

  before(async () => {
    store = await openStore();
    api = await serveApi(store, logs);
  });

  after(async () => {
    await api.close();
    await store.close();
  });

  test("answers 200 on /readyz while the store answers", async () => {
    assert.deepEqual(await get(api.base, "/readyz"), {
      status: 200,
      retryAfter: null,
      body: { ready: true },
    });
  });

  test("answers 503 unavailable with Retry-After, not 500 internal, and /readyz says not ready while /healthz stays ok", async () => {
    await store.close();
    const listed = await get(api.base, "/v1/runs");
    assert.equal(listed.status, 503);
    assert.equal(listed.retryAfter, "5");
    assert.equal(listed.body.error?.code, "unavailable");
    const started = await startRunOver(api.base);
    assert.equal(started.status, 503);
    assert.equal(started.body.error?.code, "unavailable");
    assert.deepEqual(await get(api.base, "/readyz"), {
      status: 503,
      retryAfter: "5",
      body: { ready: false, reason: "the store is unreachable" },
    });
    assert.equal((await get(api.base, "/healthz")).status, 200);
    assert.equal(logs.filter((line) => line.startsWith("internal error")).length, 0, logs.join("\n"));
  });
});

const serverUrl = testDatabaseServerUrl();

describe("the HTTP API while PostgreSQL cannot be reached", {
  skip: serverUrl === null ? "PostgreSQL is not installed on this machine" : false,
}, () => {
  let proxy: FaultProxy;
  let store: SqlStore;
  let api: Awaited<ReturnType<typeof serveApi>>;
  const logs: string[] = [];

  before(async () => {
    proxy = await startFaultProxy(await createTestDatabase(serverUrl!));
    store = await openStore({ databaseUrl: proxy.url });
    api = await serveApi(store, logs);
  });

  after(async () => {
    proxy.restore();
    await api.close();
    await store.close();
    await proxy.close();
  });

  test("answers 503 with Retry-After during the outage and serves again, runs included, once the link is back", async () => {
    assert.equal((await get(api.base, "/readyz")).status, 200);
    proxy.cut();
    try {
      const listed = await get(api.base, "/v1/runs");
      assert.deepEqual(
        [listed.status, listed.retryAfter, listed.body.error?.code],
        [503, "5", "unavailable"],
      );
      const started = await startRunOver(api.base);
      assert.deepEqual([started.status, started.body.error?.code], [503, "unavailable"]);
      const readiness = await get(api.base, "/readyz");
      assert.deepEqual([readiness.status, readiness.body.ready], [503, false]);
      assert.equal((await get(api.base, "/healthz")).status, 200);
    } finally {
      proxy.restore();
    }
    assert.deepEqual((await get(api.base, "/readyz")).body, { ready: true });
    const started = await startRunOver(api.base);
    assert.equal(started.status, 202);
    for (;;) {
      const run = await get(api.base, `/v1/runs/${started.body.id!}`);
      if (run.body.status === "completed") break;
      await store.waitForEvents({ runId: started.body.id!, afterSeq: run.body.events ?? 0, timeoutMs: 500 });
    }
    assert.equal(logs.filter((line) => line.startsWith("internal error")).length, 0, logs.join("\n"));
  });
});
