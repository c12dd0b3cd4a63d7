import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { writeTenantAgents } from "../../test/support/tenant-agents.ts";
import { API_ROUTE_LIST } from "../api/index.ts";
import { importAgentPackages } from "../cli/agent-packages.ts";
import { createApiKeyVerifier } from "../governance/api-key-verifier.ts";
import { createSqlApiKeyStore } from "../governance/sql-api-key-store.ts";
import { createAgentCatalog } from "../runtime/agent-catalog.ts";
import { openStore } from "../store/open-store.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { createApp } from "./create-app.ts";
import { createKeyRateLimiter } from "./key-rate-limiter.ts";
import { createSecretScrubber } from "./scrub-secrets.ts";
import { type RunningServer, startServer } from "./start-server.ts";

type Json = Record<string, unknown>;

describe("the control plane's authorization gate", () => {
  let store: SqlStore;
  let server: RunningServer;
  const logs: string[] = [];
  const keys: Record<string, string> = {};

  const call = async (key: string | null, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        ...(key === null ? {} : { authorization: `Bearer ${key}` }),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) as Json };
  };
  const settled = async (runId: string) => {
    for (let i = 0; i < 200; i++) {
      const run = await store.getRun(runId);
      if (run && run.status !== "queued" && run.status !== "running") return run;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`run ${runId} did not settle`);
  };

  before(async () => {
    store = await openStore({});
    const apiKeys = createSqlApiKeyStore(store.sql);
    const make = async (label: string, tenant: string, roles: string[]) => {
      keys[label] = (await apiKeys.create({ tenant, roles, name: label, createdBy: "test" })).token;
    };
    await make("acme-admin", "acme", ["admin", "approver:acme-helper"]);
    await make("acme-viewer", "acme", ["viewer"]);
    await make("acme-invoker", "acme", ["invoker"]);
    await make("globex-admin", "globex", ["admin"]);
    await make("platform-operator", "default", ["operator"]);
    server = await startServer({
      store,
      packages: await importAgentPackages(writeTenantAgents(["acme", "globex"])),
      env: {},
      host: "127.0.0.1",
      port: 0,
      log: (line) => logs.push(line),
    });
  });
  after(async () => {
    await server.close();
    await store.close();
  });

  test("has a route table entry for every registered route, so no route is open by accident", () => {
    const registered = server.app.routes
      .filter((route) => route.method !== "ALL")
      .map((route) => `${route.method} ${route.path}`);
    const listed = new Set(API_ROUTE_LIST.map((access) => `${access.method} ${access.path}`));
    assert.deepEqual(
      registered.filter((route) => !listed.has(route)),
      [],
    );
    // Entries for routes another module registers only when it is configured (the audit log's) may wait for it.
    const unregistered = [...listed].filter((route) => !registered.includes(route));
    assert.deepEqual(
      unregistered.filter((route) => !route.includes("/v1/audit/")),
      [],
    );
    assert.equal(server.authenticated, true);
  });

  test("answers 401 without a key, with a malformed one and with a made-up one, saying how to authenticate", async () => {
    for (const key of [null, "not-a-key", `keel_${"0".repeat(16)}_${"x".repeat(43)}`]) {
      const response = await call(key, "GET", "/v1/runs");
      assert.equal(response.status, 401, String(key));
      assert.equal(response.json().error && (response.json().error as Json).code, "unauthorized");
      assert.match(response.headers.get("www-authenticate") ?? "", /^Bearer realm="keel"/);
    }
    assert.equal((await call(null, "GET", "/healthz")).status, 200, "the health check stays public");
  });

  test("answers 403 naming the roles when a key lacks the route's role, and lets the right role through", async () => {
    const denied = await call(keys["acme-viewer"]!, "POST", "/v1/agents/acme-helper/runs", { input: "hi" });
    assert.equal(denied.status, 403);
    assert.match((denied.json().error as Json).message as string, /needs one of the roles admin, invoker/);
    const started = await call(keys["acme-invoker"]!, "POST", "/v1/agents/acme-helper/runs", { input: "hi" });
    assert.equal(started.status, 202);
    const run = await settled(started.json().id as string);
    assert.deepEqual(run.principal, { subject: "acme-invoker", tenant: "acme", roles: ["invoker"] });
    assert.equal((await call(keys["acme-viewer"]!, "GET", `/v1/runs/${run.runId}`)).status, 200);
    assert.equal((await call(keys["acme-invoker"]!, "GET", "/v1/costs")).status, 403);
    assert.equal((await call(keys["acme-viewer"]!, "GET", "/v1/keys")).status, 403, "keys are for admins");
  });

  test("answers 404 for another tenant's agent, run and approval, exactly as for one that does not exist", async () => {
    const started = await call(keys["acme-invoker"]!, "POST", "/v1/agents/acme-helper/runs", {
      input: "send a note to the team",
    });
    const run = await settled(started.json().id as string);
    assert.equal(run.status, "suspended");
    const [approval] = await store.listApprovals({ runId: run.runId });
    assert.ok(approval);
    const other = keys["globex-admin"]!;
    for (const [path, method] of [
      [`/v1/runs/${run.runId}`, "GET"],
      [`/v1/runs/${run.runId}/journal`, "GET"],
      [`/v1/runs/${run.runId}/events`, "GET"],
      [`/v1/runs/${run.runId}/trace`, "GET"],
      [`/v1/runs/${run.runId}/cancel`, "POST"],
      [`/v1/approvals/${approval.approvalId}`, "GET"],
      ["/v1/agents/acme-helper", "GET"],
      ["/v1/agents/acme-helper/kill", "POST"],
      ["/v1/registry/acme-helper", "GET"],
      ["/v1/tenants/acme/kill", "POST"],
    ] as const) {
      const foreign = await call(other, method, path);
      const missing = await call(
        other,
        method,
        path.replace(/acme-helper|run_[^/]+|apr_[^/]+|acme/, "nothing"),
      );
      assert.equal(foreign.status, 404, `${method} ${path}`);
      assert.equal(missing.status, 404, `${method} ${path} (missing)`);
      assert.ok(!foreign.text.includes("acme-helper") || path.includes("acme-helper"), foreign.text);
    }
    const decided = await call(other, "POST", `/v1/approvals/${approval.approvalId}/decision`, {
      decision: "approve",
    });
    assert.equal(decided.status, 404);
    assert.equal((await store.getRun(run.runId))?.status, "suspended", "the other tenant changed nothing");
    const approved = await call(
      keys["acme-admin"]!,
      "POST",
      `/v1/approvals/${approval.approvalId}/decision`,
      {
        decision: "approve",
        argumentsHash: approval.argumentsHash,
      },
    );
    assert.equal(approved.status, 200, approved.text);
    assert.equal((await settled(run.runId)).status, "completed");
  });

  test("keeps platform routes to the platform tenant: Prometheus metrics and the global kill switch", async () => {
    assert.equal((await call(keys["acme-admin"]!, "GET", "/metrics")).status, 403);
    assert.equal((await call(keys["acme-admin"]!, "POST", "/v1/kill")).status, 403);
    assert.equal((await call(keys["platform-operator"]!, "GET", "/metrics")).status, 200);
    assert.equal((await call(keys["platform-operator"]!, "POST", "/v1/tenants/globex/kill")).status, 200);
    const seen = (await call(keys["acme-admin"]!, "GET", "/v1/kill-switches")).json();
    assert.deepEqual(seen.killSwitches, [], "acme does not see globex's switch");
    assert.equal((await call(keys["platform-operator"]!, "POST", "/v1/tenants/globex/resume")).status, 200);
  });

  test("lets an admin create, list and revoke keys of its own tenant only; a revoked key stops at once", async () => {
    const admin = keys["acme-admin"]!;
    const created = await call(admin, "POST", "/v1/keys", { roles: ["viewer"], name: "dashboard" });
    assert.equal(created.status, 201);
    const { id, secret, tenant } = created.json() as { id: string; secret: string; tenant: string };
    assert.equal(tenant, "acme");
    assert.equal((await call(secret, "GET", "/v1/runs")).status, 200);
    const listed = await call(admin, "GET", "/v1/keys");
    assert.ok(listed.text.includes(id));
    assert.ok(!listed.text.includes(secret.slice(22)), "a listing never shows a secret");
    assert.ok(!(await call(keys["globex-admin"]!, "GET", "/v1/keys")).text.includes(id));
    assert.equal((await call(keys["globex-admin"]!, "DELETE", `/v1/keys/${id}`)).status, 404);
    assert.equal((await call(admin, "DELETE", `/v1/keys/${id}`)).status, 200);
    assert.equal((await call(secret, "GET", "/v1/runs")).status, 401);
    const bad = await call(admin, "POST", "/v1/keys", { roles: ["superuser"] });
    assert.equal(bad.status, 400);
    assert.equal(((bad.json().error as Json).issues as Json[])[0]?.path, "roles");
  });

  test("answers query fields a route does not take and malformed path parameters with 400 naming the field", async () => {
    const unknown = await call(keys["acme-viewer"]!, "GET", "/v1/runs?agnet=acme-helper");
    assert.equal(unknown.status, 400);
    assert.deepEqual((unknown.json().error as Json).issues, [
      { path: "agnet", message: "not a query field of this route" },
    ]);
    const badLimit = await call(keys["acme-viewer"]!, "GET", "/v1/traces?limit=ten");
    assert.equal(badLimit.status, 400);
    assert.equal(((badLimit.json().error as Json).issues as Json[])[0]?.path, "limit");
    const badParam = await call(
      keys["acme-viewer"]!,
      "GET",
      `/v1/runs/${encodeURIComponent("x'; DROP TABLE")}`,
    );
    assert.equal(badParam.status, 400);
    assert.equal(((badParam.json().error as Json).issues as Json[])[0]?.path, "id");
  });

  test("answers a body over the route's limit with 413 JSON on every route that reads one", async () => {
    // In process: over a socket the server answers before reading the body and closes the connection.
    const big = JSON.stringify({ input: "x".repeat(1024 * 1024 + 10) });
    const [run] = (await store.listRuns({ tenant: "acme", limit: 1 })).runs;
    for (const path of ["/v1/agents/acme-helper/runs", "/v1/keys", `/v1/runs/${run?.runId}/feedback`]) {
      const response = await server.app.request(path, {
        method: "POST",
        headers: { authorization: `Bearer ${keys["acme-admin"]}`, "content-type": "application/json" },
        body: big,
      });
      assert.equal(response.status, 413, path);
      assert.equal(((await response.json()) as { error: Json }).error.code, "payload_too_large");
    }
  });

  test("sends security headers on successes and errors, and no-store on authenticated responses", async () => {
    for (const response of [
      await call(keys["acme-viewer"]!, "GET", "/v1/runs"),
      await call(null, "GET", "/v1/runs"),
      await call(null, "GET", "/nowhere"),
    ]) {
      assert.equal(response.headers.get("x-content-type-options"), "nosniff");
      assert.equal(
        response.headers.get("content-security-policy"),
        "default-src 'none'; frame-ancestors 'none'",
      );
      assert.equal(response.headers.get("referrer-policy"), "no-referrer");
      assert.equal(response.headers.get("x-frame-options"), "DENY");
      assert.match(response.headers.get("strict-transport-security") ?? "", /max-age=31536000/);
      assert.equal(response.headers.get("x-powered-by"), null);
    }
    assert.equal(
      (await call(keys["acme-viewer"]!, "GET", "/v1/runs")).headers.get("cache-control"),
      "no-store",
    );
  });

  test("serves the governed model endpoint to invoker keys only, answering in OpenAI's error shape", async () => {
    const body = { model: "nobody/none", messages: [{ role: "user", content: "hi" }] };
    const anonymous = await call(null, "POST", "/v1/chat/completions", body);
    assert.equal(anonymous.status, 401);
    assert.equal((anonymous.json().error as Json).type, "authentication_error");
    assert.equal((await call(keys["acme-viewer"]!, "POST", "/v1/chat/completions", body)).status, 403);
    const invoked = await call(keys["acme-invoker"]!, "POST", "/v1/chat/completions", body);
    assert.notEqual(invoked.status, 401);
    assert.notEqual(invoked.status, 403);
  });

  test("never writes a key or its secret to the log, even when requests carry them where they do not belong", async () => {
    const secret = keys["acme-admin"]!;
    await call(secret, "GET", "/v1/runs");
    await call(`${secret}x`, "GET", "/v1/runs");
    await call(secret, "POST", "/v1/agents/acme-helper/runs", `{"input": "${secret}"`);
    // Last in this group: an internal error whose logged path carries a key (the runs table is gone for a moment).
    await store.sql.query("ALTER TABLE keel_runs RENAME TO keel_runs_away");
    try {
      assert.equal((await call(secret, "GET", `/v1/runs/${secret}`)).status, 500);
    } finally {
      await store.sql.query("ALTER TABLE keel_runs_away RENAME TO keel_runs");
    }
    const all = logs.join("\n");
    assert.match(all, /internal error on GET \/v1\/runs\/keel_[0-9a-f]{16}_\*\*\*/);
    for (const token of Object.values(keys))
      assert.ok(!all.includes(token.slice(22)), "no secret in the log");
  });
});

describe("the per-key rate limit", () => {
  test("answers 429 with Retry-After once a key's bucket is empty, without slowing other keys", async () => {
    const store = await openStore({});
    try {
      const apiKeys = createSqlApiKeyStore(store.sql);
      const one = (await apiKeys.create({ tenant: "acme", roles: ["viewer"], createdBy: "test" })).token;
      const two = (await apiKeys.create({ tenant: "acme", roles: ["viewer"], createdBy: "test" })).token;
      const app = createApp({
        store,
        agents: createAgentCatalog([]),
        auth: {
          verifier: createApiKeyVerifier({ store: apiKeys }),
          platformTenant: "default",
          rateLimiter: createKeyRateLimiter({ perMinute: 6, burst: 3 }),
        },
        log: () => undefined,
      });
      const get = (key: string) => app.request("/v1/runs", { headers: { authorization: `Bearer ${key}` } });
      for (let i = 0; i < 3; i++) assert.equal((await get(one)).status, 200);
      const limited = await get(one);
      assert.equal(limited.status, 429);
      assert.equal(((await limited.json()) as { error: Json }).error.code, "rate_limited");
      assert.ok(Number(limited.headers.get("retry-after")) >= 1);
      assert.equal((await get(two)).status, 200);
    } finally {
      await store.close();
    }
  });
});

describe("internal errors", () => {
  test("answer 500 without the stack, file paths, SQL or table names, which go to the (scrubbed) log", async () => {
    const store = await openStore({});
    const logged: string[] = [];
    try {
      const app = createApp({ store, agents: createAgentCatalog([]), log: (line) => logged.push(line) });
      await store.sql.query("DROP TABLE keel_approvals");
      const response = await app.request("/v1/approvals");
      assert.equal(response.status, 500);
      const text = await response.text();
      assert.deepEqual(JSON.parse(text), {
        error: { code: "internal", message: "internal error; see the server log" },
      });
      for (const leak of ["keel_approvals", "SELECT", "relation", ".ts", "/", "at "]) {
        assert.ok(!text.replace("internal error; see the server log", "").includes(leak), leak);
      }
      assert.match(logged.join("\n"), /keel_approvals/, "the details are in the server log");
    } finally {
      await store.close();
    }
  });

  test("the log scrubber masks Keel keys, bearer credentials, URL passwords and configured secrets", () => {
    const scrub = createSecretScrubber(["sk-ant-api03-verysecret", "short"]);
    const token = `keel_0123456789abcdef_${"Z".repeat(43)}`;
    const line = scrub(
      `auth ${token} Authorization: Bearer abc.def postgres://keel:hunter22@db/keel key sk-ant-api03-verysecret short`,
    );
    assert.equal(
      line,
      "auth keel_0123456789abcdef_*** Authorization: Bearer *** postgres://keel:***@db/keel key *** short",
    );
  });
});
