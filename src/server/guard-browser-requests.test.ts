import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, test } from "node:test";
import { startDefaultServer } from "../../test/support/tenant-agents.ts";
import { isKeelError } from "../errors/keel-error.ts";
import { createSqlApiKeyStore } from "../governance/sql-api-key-store.ts";
import { openStore } from "../store/open-store.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { parseAllowedOrigins } from "./guard-browser-requests.ts";
import type { RunningServer } from "./start-server.ts";

type Answer = { status: number; body: string };

/** One request over a real socket, with exactly the headers given (fetch would not let a test set Host). */
async function send(
  url: string,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<Answer> {
  const { port } = new URL(url);
  return await new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: "127.0.0.1",
        port: Number(port),
        method: options.method ?? "GET",
        path: options.path,
        headers: options.headers ?? {},
      },
      (incoming) => {
        let body = "";
        incoming.setEncoding("utf8");
        incoming.on("data", (chunk: string) => {
          body += chunk;
        });
        incoming.on("end", () => resolve({ status: incoming.statusCode ?? 0, body }));
      },
    );
    outgoing.on("error", reject);
    outgoing.end(options.body);
  });
}

async function serve(store: SqlStore, allowedOrigins: string[] = []): Promise<RunningServer> {
  return (await startDefaultServer({ store, allowedOrigins })).server;
}

describe("browser safety in development mode", () => {
  let store: SqlStore;
  let server: RunningServer;
  let host: string;
  const run = JSON.stringify({ input: "hello" });

  before(async () => {
    store = await openStore({});
    server = await serve(store, ["http://localhost:5173"]);
    host = new URL(server.url).host;
  });
  after(async () => {
    await server.close();
    await store.close();
  });

  test("refuses a Host that does not name this server, so a rebound DNS name cannot reach it", async () => {
    const port = new URL(server.url).port;
    for (const name of ["attacker.example", `attacker.example:${port}`, "127.0.0.1:1", "localhost"]) {
      const answer = await send(server.url, { path: "/v1/agents", headers: { host: name } });
      assert.equal(answer.status, 403, name);
      assert.match(answer.body, /Host header/);
    }
    for (const name of [host, `localhost:${port}`, `[::1]:${port}`]) {
      const answer = await send(server.url, { path: "/v1/agents", headers: { host: name } });
      assert.equal(answer.status, 200, name);
    }
  });

  test("refuses a body that is not exactly application/json with 415, as a page sends one without a preflight", async () => {
    for (const type of ["text/plain; application/json", "text/plain", "multipart/form-data; boundary=x"]) {
      const answer = await send(server.url, {
        method: "POST",
        path: "/v1/agents/default-helper/runs",
        headers: { host, "content-type": type },
        body: run,
      });
      assert.equal(answer.status, 415, type);
      assert.equal(
        (JSON.parse(answer.body) as { error: { code: string } }).error.code,
        "unsupported_media_type",
      );
    }
    assert.equal(
      (await store.listRuns({ tenant: "default", limit: 10 })).runs.length,
      0,
      "no run was started",
    );
  });

  test("refuses a state-changing request from another web origin unless it is allowed, and reads from anywhere", async () => {
    const post = async (origin: string) =>
      await send(server.url, {
        method: "POST",
        path: "/v1/agents/default-helper/runs",
        headers: { host, origin, "content-type": "application/json" },
        body: run,
      });
    for (const origin of ["http://attacker.example", "null", `http://${host}.attacker.example`]) {
      const answer = await post(origin);
      assert.equal(answer.status, 403, origin);
      assert.match(answer.body, /--allow-origin/);
    }
    assert.equal((await post(`http://${host}`)).status, 202, "the server's own origin");
    assert.equal((await post("http://localhost:5173")).status, 202, "an allowed origin");
    const read = await send(server.url, {
      path: "/v1/agents",
      headers: { host, origin: "http://attacker.example" },
    });
    assert.equal(read.status, 200, "a read changes nothing; the browser keeps its answer from the page");
  });
});

describe("browser safety with API keys", () => {
  test("leaves Host to the deployment but still refuses state changes from another web origin", async () => {
    const store = await openStore({});
    const keys = createSqlApiKeyStore(store.sql);
    const token = (await keys.create({ tenant: "default", roles: ["admin"], createdBy: "test" })).token;
    const server = await serve(store);
    try {
      const authorization = `Bearer ${token}`;
      const listed = await send(server.url, {
        path: "/v1/agents",
        headers: { host: "keel.internal.example", authorization },
      });
      assert.equal(listed.status, 200);
      const crossOrigin = await send(server.url, {
        method: "POST",
        path: "/v1/agents/default-helper/runs",
        headers: {
          host: "keel.internal.example",
          origin: "http://attacker.example",
          authorization,
          "content-type": "application/json",
        },
        body: JSON.stringify({ input: "hello" }),
      });
      assert.equal(crossOrigin.status, 403);
    } finally {
      await server.close();
      await store.close();
    }
  });
});

test("takes allowed origins only as a browser writes them", () => {
  assert.deepEqual(
    parseAllowedOrigins(["http://localhost:5173", " https://console.example ", ""], "--allow-origin"),
    ["http://localhost:5173", "https://console.example"],
  );
  for (const bad of [
    "localhost:5173",
    "http://localhost:5173/",
    "https://console.example/app",
    "ftp://x.example",
    "*",
  ]) {
    assert.throws(
      () => parseAllowedOrigins([bad], "--allow-origin"),
      (error: unknown) => isKeelError(error, "invalid_request") && error.message.includes("--allow-origin"),
      bad,
    );
  }
});
