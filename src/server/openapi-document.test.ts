import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import { startDefaultServer } from "../../test/support/tenant-agents.ts";
import { API_ROUTE_LIST, type ApiRoute } from "../api/index.ts";
import { CONTROL_PLANE_ROLES } from "../governance/control-plane-roles.ts";
import { createSqlApiKeyStore } from "../governance/sql-api-key-store.ts";
import { openStore } from "../store/open-store.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { matchRouteAccess } from "./match-route-access.ts";
import type { RunningServer } from "./start-server.ts";

type Operation = { operationId: string; "x-keel-roles": "public" | string[]; security?: unknown[] };
type Document = { openapi: string; paths: Record<string, Record<string, Operation>> };

/**
 * The route declarations are the one list: the routes Hono answers, the gate's roles and the OpenAPI document must
 * all be the same, on a real server with API keys and every optional module turned on.
 */
describe("GET /openapi.json", () => {
  let store: SqlStore;
  let server: RunningServer;
  const keys: Record<string, string> = {};
  let document: Document;

  before(async () => {
    store = await openStore({});
    const apiKeys = createSqlApiKeyStore(store.sql);
    for (const role of CONTROL_PLANE_ROLES) {
      keys[role] = (
        await apiKeys.create({ tenant: "default", roles: [role], name: role, createdBy: "test" })
      ).token;
    }
    ({ server } = await startDefaultServer({ store }));
    const response = await fetch(`${server.url}/openapi.json`);
    assert.equal(response.status, 200, "the document needs no key");
    assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
    document = (await response.json()) as Document;
  });
  after(async () => {
    await server.close();
    await store.close();
  });

  const operations = () =>
    Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({
        key: `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`,
        operation,
      })),
    );

  test("is a valid OpenAPI 3.1 document", async () => {
    assert.equal(document.openapi, "3.1.0");
    const result = await new Validator().validate(document as never);
    assert.deepEqual(result.errors ?? [], []);
    assert.equal(result.valid, true);
  });

  test("lists every route Hono answers and no other, each once", () => {
    const answered = server.app.routes
      .filter((route) => route.method !== "ALL")
      .map((route) => `${route.method} ${route.path}`);
    const documented = operations().map((entry) => entry.key);
    assert.deepEqual([...documented].sort(), [...new Set(answered)].sort());
    assert.equal(new Set(answered).size, answered.length, "no route is registered twice");
    // This server turns every optional module on, so it answers every declared route.
    assert.deepEqual(
      API_ROUTE_LIST.filter((route) => !answered.includes(`${route.method} ${route.path}`)).map(
        (route) => route.path,
      ),
      [],
    );
  });

  test("gives each operation the roles the gate holds it to", () => {
    for (const { key, operation } of operations()) {
      const [method, path] = key.split(" ") as [string, string];
      const declared = matchRouteAccess(API_ROUTE_LIST, method, path.replace(/:(\w+)/g, "x"))?.route;
      assert.ok(declared, `${key} is declared for the gate`);
      assert.equal(declared.path, path, key);
      assert.deepEqual(operation["x-keel-roles"], rolesOf(declared), key);
      assert.deepEqual(operation.security, declared.roles === "public" ? [] : undefined, key);
    }
  });

  test("the gate lets exactly the documented roles through, on every route", async () => {
    const wrong: string[] = [];
    for (const { key, operation } of operations()) {
      const [method, path] = key.split(" ") as [string, string];
      const declared = API_ROUTE_LIST.find((route) => route.method === method && route.path === path)!;
      for (const role of CONTROL_PLANE_ROLES) {
        const status = await probe(declared, keys[role]!);
        const allowed = operation["x-keel-roles"] === "public" || operation["x-keel-roles"].includes(role);
        if ((status === 403) === allowed) wrong.push(`${key} as ${role}: ${status}`);
      }
      if (operation["x-keel-roles"] === "public") {
        const status = await probe(declared, null);
        if (status === 401 || status === 403) wrong.push(`${key} without a key: ${status}`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  /**
   * A request that reaches the gate and stops right behind it: path parameters name nothing (404 from the tenant
   * check), a body has a field no route takes (400 from its schema), required query fields are filled in.
   */
  async function probe(route: ApiRoute, key: string | null): Promise<number> {
    const path = route.path.replace(/:(\w+)/g, "probe-missing");
    const required = Object.entries(route.query?.shape ?? {})
      .filter(
        ([, schema]) =>
          !(schema as { safeParse(value: unknown): { success: boolean } }).safeParse(undefined).success,
      )
      .map(([name]) => `${name}=1`);
    const response = await fetch(
      `${server.url}${path}${required.length > 0 ? `?${required.join("&")}` : ""}`,
      {
        method: route.method,
        headers: {
          ...(key === null ? {} : { authorization: `Bearer ${key}` }),
          ...(route.body ? { "content-type": "application/json" } : {}),
        },
        ...(route.body ? { body: JSON.stringify({ probeField: 1 }) } : {}),
      },
    );
    await response.body?.cancel();
    return response.status;
  }
});

function rolesOf(route: ApiRoute): "public" | string[] {
  return route.roles === "public" ? "public" : ["admin", ...route.roles];
}
