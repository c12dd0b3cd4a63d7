import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { callingAgent, toolEnd } from "../../test/support/calling-agent.ts";
import { driveRun } from "../../test/support/drive-run.ts";
import { testStores } from "../../test/support/test-database.ts";
import { KeelError } from "../errors/index.ts";
import { HttpSection } from "../spec/index.ts";
import type { SqlStore } from "../store/index.ts";
import { type Tool, type ToolContext, toolInputJsonSchema } from "../tools/index.ts";
import { bindHttpTools, checkEgress, nonPublicAddress, type Resolve } from "./index.ts";

type Received = { method: string; url: string; headers: IncomingMessage["headers"]; body: string };

/** A loopback API: orders, tickets, and the misbehaviours an egress guard must survive. */
async function startApi(): Promise<{ server: Server; port: number; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => {
      body += chunk;
    });
    request.on("end", () => {
      received.push({ method: request.method!, url: request.url!, headers: request.headers, body });
      const url = new URL(request.url!, "http://x");
      const json = (status: number, value: unknown) => {
        response.writeHead(status, { "content-type": "application/json" });
        response.end(JSON.stringify(value));
      };
      if (url.pathname.startsWith("/orders/")) {
        const id = decodeURIComponent(url.pathname.slice("/orders/".length));
        if (id === "O-500") return json(503, { error: "the order service is down" });
        if (id === "O-bad") return json(200, { id: 5 });
        return json(200, { id, status: "shipped", verbose: url.searchParams.get("verbose") });
      }
      if (url.pathname === "/tickets" && request.method === "POST")
        return json(201, { created: JSON.parse(body), key: request.headers["idempotency-key"] ?? null });
      if (url.pathname === "/big") {
        const body = `"${"x".repeat(2 * 1024 * 1024)}"`;
        response.writeHead(200, { "content-type": "application/json", "content-length": body.length });
        return response.end(body);
      }
      if (url.pathname === "/big-chunked") {
        // No Content-Length: the size shows only as the body arrives.
        response.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
        for (let chunk = 0; chunk < 32; chunk += 1) response.write("x".repeat(64 * 1024));
        return response.end();
      }
      if (url.pathname === "/slow") return; // never answers
      if (url.pathname === "/redirect") {
        response.writeHead(302, { location: url.searchParams.get("to")! });
        return response.end();
      }
      json(404, { error: `no ${url.pathname}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port, received };
}

/** A resolver for test names: each listed name resolves to its addresses; every other name fails. */
function resolverOf(names: Record<string, string[]>): Resolve & { lookups: string[] } {
  const lookups: string[] = [];
  const resolve = async (host: string) => {
    lookups.push(host);
    const addresses = names[host];
    if (!addresses) throw new Error(`getaddrinfo ENOTFOUND ${host}`);
    return addresses.map((address) => ({
      address,
      family: address.includes(":") ? (6 as const) : (4 as const),
    }));
  };
  return Object.assign(resolve, { lookups });
}

const context = (): ToolContext => ({
  runId: "r",
  callId: "c",
  idempotencyKey: "k-1",
  signal: AbortSignal.timeout(60_000),
});

async function refusal(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    assert.ok(error instanceof KeelError, String(error));
    assert.equal(error.code, "forbidden");
    return error.message;
  }
  assert.fail("the call was not refused");
}

const named = (tools: readonly Tool[], name: string) => {
  const tool = tools.find((each) => each.name === name);
  assert.ok(tool, name);
  return tool as Tool<Record<string, unknown>, unknown>;
};

let api: Awaited<ReturnType<typeof startApi>>;
let dir: string;
before(async () => {
  api = await startApi();
  dir = mkdtempSync(join(tmpdir(), "keel-http-"));
});
after(() => {
  api.server.closeAllConnections();
  api.server.close();
});

function section(overrides: Record<string, unknown> = {}) {
  return HttpSection.parse({
    allowHosts: ["127.0.0.1"],
    allowPrivateNetworks: true,
    timeout: "5s",
    tools: [
      {
        name: "get_order",
        description: "Look an order up by its id.",
        url: `http://127.0.0.1:${api.port}/orders/{id}`,
        query: ["verbose"],
        headers: { authorization: { fromEnv: "ORDERS_TOKEN", prefix: "Bearer " }, "x-client": "keel" },
        input: {
          type: "object",
          properties: { id: { type: "string" }, verbose: { type: "boolean" } },
          required: ["id"],
          additionalProperties: false,
        },
        output: {
          type: "object",
          properties: { id: { type: "string" }, status: { type: "string" } },
          required: ["id", "status"],
        },
        dataClasses: ["internal"],
      },
      {
        name: "create_ticket",
        description: "Open a support ticket.",
        method: "POST",
        url: `http://127.0.0.1:${api.port}/tickets`,
        input: {
          type: "object",
          properties: { title: { type: "string" }, priority: { type: "integer" } },
          required: ["title"],
        },
      },
      {
        name: "fetch_path",
        description: "Fetch a path of the API.",
        url: `http://127.0.0.1:${api.port}/{path}`,
        input: { type: "object", properties: { path: { type: "string" }, to: { type: "string" } } },
        query: ["to"],
        timeout: "1s",
      },
    ],
    ...overrides,
  });
}

const bind = (overrides: Record<string, unknown> = {}, resolve?: Resolve) =>
  bindHttpTools({
    specFile: join(dir, "agent.yaml"),
    section: section(overrides),
    env: { ORDERS_TOKEN: "s3cret" },
    ...(resolve ? { resolve } : {}),
  });

for (const backend of testStores()) {
  describe(`HTTP tools in a governed run on ${backend.name}`, () => {
    let store: SqlStore;
    before(async () => {
      store = await backend.open();
    });
    after(async () => {
      await store.close();
    });

    test("a declared GET tool fills its URL and query from the arguments, sends the secret read from the environment, and its checked JSON is the call's result", async () => {
      const tools = await bind();
      const getOrder = named(tools, "get_order");
      assert.equal(getOrder.sideEffect, false);
      assert.deepEqual((toolInputJsonSchema(getOrder) as { required: string[] }).required, ["id"]);
      const before = api.received.length;
      const { events } = await driveRun({
        store,
        agent: callingAgent(tools, "get_order", { id: "O 1/2", verbose: true }),
        input: "where is my order?",
      });
      const end = toolEnd(events);
      assert.equal(end.outcome, "ok");
      assert.deepEqual(end.result, { id: "O 1/2", status: "shipped", verbose: "true" });
      assert.deepEqual(end.dataClasses, ["internal"]);
      const request = api.received[before]!;
      assert.equal(request.url, "/orders/O%201%2F2?verbose=true");
      assert.equal(request.headers.authorization, "Bearer s3cret");
      assert.equal(request.headers["x-client"], "keel");
      assert.equal(request.headers.host, `127.0.0.1:${api.port}`);

      const failing = toolEnd(
        (
          await driveRun({
            store,
            agent: callingAgent(tools, "get_order", { id: "O-500" }),
            input: "and O-500?",
          })
        ).events,
      );
      assert.equal(failing.outcome, "error");
      assert.match(String(failing.error?.message), /answered 503: .*the order service is down/);
      const badOutput = toolEnd(
        (
          await driveRun({
            store,
            agent: callingAgent(tools, "get_order", { id: "O-bad" }),
            input: "and O-bad?",
          })
        ).events,
      );
      assert.equal(badOutput.outcome, "error");
      assert.match(String(badOutput.error?.message), /output schema does not allow: .*\/id must be string/);
    });

    test("a declared POST tool sends its arguments as the JSON body with the call's idempotency key", async () => {
      const tools = await bind();
      assert.equal(named(tools, "create_ticket").sideEffect, true);
      const before = api.received.length;
      const { events } = await driveRun({
        store,
        agent: callingAgent(tools, "create_ticket", { title: "printer jam", priority: 2 }),
        input: "open a ticket",
      });
      const end = toolEnd(events);
      assert.equal(end.outcome, "ok");
      const result = end.result as { created: unknown; key: string };
      assert.deepEqual(result.created, { title: "printer jam", priority: 2 });
      assert.ok(result.key.length > 0);
      assert.equal(api.received[before]!.headers["content-type"], "application/json");
    });

    test("a call to a host outside the allowlist is journaled as tool_refused and nothing is sent", async () => {
      const tools = await bind({ allowHosts: ["api.example.test"] });
      const before = api.received.length;
      const end = toolEnd(
        (await driveRun({ store, agent: callingAgent(tools, "get_order", { id: "O-1" }), input: "where?" }))
          .events,
      );
      assert.equal(end.outcome, "error");
      assert.equal(end.error?.code, "tool_refused");
      assert.match(String(end.error?.message), /host 127\.0\.0\.1 is not in the agent's http\.allowHosts/);
      assert.equal(api.received.length, before);
    });
  });
}

describe("HTTP tool limits", () => {
  test("a secret read from an unset environment variable stops binding with the field's name", async () => {
    await assert.rejects(
      bindHttpTools({ specFile: join(dir, "agent.yaml"), section: section(), env: {} }),
      /http\.tools\[0\]\.headers\.authorization reads ORDERS_TOKEN, which is not set/,
    );
  });

  test("a response larger than maxResponseBytes is the call's error", async () => {
    const tools = await bind({ maxResponseBytes: 64 * 1024 });
    await assert.rejects(
      named(tools, "fetch_path").execute({ path: "big" }, context()),
      /announced 2097154 bytes, more than the 65536 a call may read \(maxResponseBytes\)/,
    );
    await assert.rejects(
      named(tools, "fetch_path").execute({ path: "big-chunked" }, context()),
      /answered more than 65536 bytes \(maxResponseBytes\)/,
    );
  });

  test("a server that never answers is cut at the tool's timeout", async () => {
    const tools = await bind();
    const started = Date.now();
    await assert.rejects(
      named(tools, "fetch_path").execute({ path: "slow" }, context()),
      /did not answer within 1000 ms/,
    );
    assert.ok(Date.now() - started < 4_000);
  });

  test("redirects are followed, each checked again", async () => {
    const tools = await bind();
    const result = await named(tools, "fetch_path").execute(
      { path: "redirect", to: `http://127.0.0.1:${api.port}/orders/O-7` },
      context(),
    );
    assert.deepEqual(result, { id: "O-7", status: "shipped", verbose: null });
  });
});

describe("SSRF protection", () => {
  const rules = {
    allowHosts: ["localhost", "127.0.0.1", "[::1]", "169.254.169.254", "10.1.2.3", "*.example.test"],
  };

  test("loopback, link-local, private and metadata addresses are refused when private networks are not allowed", async () => {
    for (const url of [
      "http://localhost/",
      "http://127.0.0.1/",
      "http://[::1]/",
      "http://169.254.169.254/latest/meta-data/",
      "http://10.1.2.3/",
    ])
      assert.match(
        await refusal(checkEgress(new URL(url), { ...rules, allowPrivateNetworks: false })),
        /is not a public address/,
        url,
      );
  });

  test("every non-public form is recognised, IPv4-mapped IPv6 included, and public addresses pass", () => {
    for (const address of [
      "0.0.0.0",
      "10.0.0.1",
      "100.64.1.1",
      "127.1.2.3",
      "169.254.169.254",
      "172.31.255.255",
      "192.168.1.1",
      "224.0.0.1",
      "255.255.255.255",
      "::",
      "::1",
      "fc00::1",
      "fd12:3456::1",
      "fe80::1",
      "ff02::1",
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "::ffff:169.254.169.254",
      "64:ff9b::10.0.0.1",
    ])
      assert.notEqual(nonPublicAddress(address), null, address);
    for (const address of ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"])
      assert.equal(nonPublicAddress(address), null, address);
  });

  test("a name in the allowlist that resolves to loopback is refused, even when only one of its addresses does", async () => {
    const resolve = resolverOf({
      "api.example.test": ["127.0.0.1"],
      "mixed.example.test": ["93.184.216.34", "::1"],
    });
    const tools = await bind(
      {
        allowHosts: ["*.example.test"],
        allowPrivateNetworks: false,
        tools: [
          {
            name: "get_order",
            description: "Look an order up.",
            url: `http://api.example.test:${api.port}/orders/{id}`,
            input: { type: "object", properties: { id: { type: "string" } } },
          },
        ],
      },
      resolve,
    );
    const before = api.received.length;
    assert.match(
      await refusal(named(tools, "get_order").execute({ id: "O-1" }, context())),
      /api\.example\.test resolves to 127\.0\.0\.1, which is not a public address/,
    );
    assert.match(
      await refusal(
        checkEgress(
          new URL("http://mixed.example.test/"),
          { ...rules, allowPrivateNetworks: false },
          resolve,
        ),
      ),
      /resolves to ::1/,
    );
    assert.equal(api.received.length, before);
  });

  test("the offline resolver's localhost. (with its trailing dot) is refused too", async () => {
    assert.match(
      await refusal(
        checkEgress(new URL("http://localhost./"), {
          allowHosts: ["localhost"],
          allowPrivateNetworks: false,
        }),
      ),
      /resolves to .*not a public address/,
    );
  });

  test("a redirect from an allowed host to a loopback name or address is refused before anything is sent there", async () => {
    // front.example.test may reach the private network (it is the loopback API); the names it redirects to may not.
    const resolve = resolverOf({ "front.example.test": ["127.0.0.1"], "evil.example.test": ["127.0.0.1"] });
    const tools = await bind(
      {
        allowHosts: ["*.example.test", "127.0.0.1"],
        allowPrivateNetworks: ["front.example.test"],
        tools: [
          {
            name: "fetch_path",
            description: "Fetch a path.",
            url: `http://front.example.test:${api.port}/{path}`,
            query: ["to"],
            input: { type: "object", properties: { path: { type: "string" }, to: { type: "string" } } },
          },
        ],
      },
      resolve,
    );
    const fetchPath = named(tools, "fetch_path");
    for (const [to, reason] of [
      [`http://evil.example.test:${api.port}/orders/O-1`, /evil\.example\.test resolves to 127\.0\.0\.1/],
      [
        `http://127.0.0.1:${api.port}/orders/O-1`,
        /127\.0\.0\.1 resolves to 127\.0\.0\.1, which is not a public/,
      ],
      [
        "http://169.254.169.254/latest/meta-data/",
        /host 169\.254\.169\.254 is not in the agent's http\.allowHosts/,
      ],
      ["file:///etc/passwd", /file: URLs are not allowed/],
    ] as const) {
      const before = api.received.length;
      assert.match(await refusal(fetchPath.execute({ path: "redirect", to }, context())), reason, to);
      // Only the redirecting request reached the server.
      assert.deepEqual(
        api.received.slice(before).map((request) => request.url.split("?")[0]),
        ["/redirect"],
      );
    }
  });

  test("the address checked is the one connected to: a name whose answer changes after the check is not looked up again", async () => {
    let answers = 0;
    const rebinding: Resolve = async () => {
      answers += 1;
      return [{ address: answers === 1 ? "127.0.0.1" : "10.9.9.9", family: 4 }];
    };
    const tools = await bind(
      {
        allowHosts: ["rebind.example.test"],
        allowPrivateNetworks: true,
        tools: [
          {
            name: "get_order",
            description: "Look an order up.",
            url: `http://rebind.example.test:${api.port}/orders/{id}`,
            input: { type: "object", properties: { id: { type: "string" } } },
          },
        ],
      },
      rebinding,
    );
    const before = api.received.length;
    assert.deepEqual(await named(tools, "get_order").execute({ id: "O-2" }, context()), {
      id: "O-2",
      status: "shipped",
      verbose: null,
    });
    assert.equal(answers, 1);
    assert.equal(api.received[before]!.headers.host, `rebind.example.test:${api.port}`);
  });
});

describe("OpenAPI operations as tools", () => {
  test("the named operations become tools whose input combines path, query and header parameters and the JSON body", async () => {
    const document = join(dir, "orders.openapi.yaml");
    writeFileSync(
      document,
      [
        "openapi: 3.1.0",
        "info: { title: Orders, version: '1' }",
        "paths:",
        "  /orders/{id}:",
        "    parameters:",
        "      - { name: id, in: path, required: true, schema: { type: string } }",
        "    get:",
        "      operationId: getOrder",
        "      summary: Look an order up by its id.",
        "      parameters:",
        "        - { name: verbose, in: query, schema: { type: boolean } }",
        "        - { name: x-tenant, in: header, schema: { type: string } }",
        "  /tickets:",
        "    post:",
        "      operationId: createTicket",
        "      requestBody:",
        "        required: true",
        "        content:",
        "          application/json:",
        "            schema: { $ref: '#/components/schemas/Ticket' }",
        "components:",
        "  schemas:",
        "    Ticket:",
        "      type: object",
        "      properties: { title: { type: string } }",
        "      required: [title]",
      ].join("\n"),
    );
    const tools = await bindHttpTools({
      specFile: join(dir, "agent.yaml"),
      env: { ORDERS_TOKEN: "s3cret" },
      section: HttpSection.parse({
        allowHosts: ["127.0.0.1"],
        allowPrivateNetworks: true,
        openapi: [
          {
            document: "orders.openapi.yaml",
            baseUrl: `http://127.0.0.1:${api.port}`,
            headers: { authorization: { fromEnv: "ORDERS_TOKEN" } },
            operations: [{ operationId: "getOrder", as: "get_order" }, { operationId: "createTicket" }],
          },
        ],
      }),
    });
    assert.deepEqual(
      tools.map((tool) => [tool.name, tool.sideEffect]),
      [
        ["get_order", false],
        ["createTicket", true],
      ],
    );
    const getOrder = named(tools, "get_order");
    assert.equal(getOrder.description, "Look an order up by its id.");
    assert.deepEqual(toolInputJsonSchema(getOrder), {
      type: "object",
      properties: { id: { type: "string" }, verbose: { type: "boolean" }, "x-tenant": { type: "string" } },
      required: ["id"],
      additionalProperties: false,
    });
    assert.equal(getOrder.input.safeParse({ verbose: true }).success, false);
    let before = api.received.length;
    assert.deepEqual(await getOrder.execute({ id: "O-3", verbose: false, "x-tenant": "acme" }, context()), {
      id: "O-3",
      status: "shipped",
      verbose: "false",
    });
    assert.equal(api.received[before]!.headers["x-tenant"], "acme");
    assert.equal(api.received[before]!.headers.authorization, "s3cret");

    const create = named(tools, "createTicket");
    assert.equal(create.input.safeParse({ body: {} }).success, false);
    before = api.received.length;
    const created = (await create.execute({ body: { title: "jam" } }, context())) as { created: unknown };
    assert.deepEqual(created.created, { title: "jam" });
    assert.equal(api.received[before]!.method, "POST");

    await assert.rejects(
      bindHttpTools({
        specFile: join(dir, "agent.yaml"),
        env: {},
        section: HttpSection.parse({
          allowHosts: ["127.0.0.1"],
          openapi: [
            {
              document: "orders.openapi.yaml",
              baseUrl: "http://127.0.0.1",
              operations: [{ operationId: "nope" }],
            },
          ],
        }),
      }),
      /http\.openapi\[0\]\.operations\[0\]\.operationId: .* has no operation nope \(it has: getOrder, createTicket\)/,
    );
  });
});
