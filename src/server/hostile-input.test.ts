import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { writeTenantAgents } from "../../test/support/tenant-agents.ts";
import { testStores } from "../../test/support/test-database.ts";
import { API_ROUTE_LIST, type ApiRoute } from "../api/index.ts";
import { importAgentPackages } from "../cli/agent-packages.ts";
import { createSqlApiKeyStore } from "../governance/sql-api-key-store.ts";
import { type LoopbackProvider, startLoopbackProvider } from "../models/loopback/loopback-provider-server.ts";
import { AGENT_STATUSES, GATES } from "../registry/lifecycle-rules.ts";
import { loadAuditSigner } from "../store/audit-keys.ts";
import { createAuditCheckpoint } from "../store/create-audit-checkpoint.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { type RunningServer, startServer } from "./start-server.ts";

/**
 * Every route of the table, driven in process with hostile path parameters, query fields, headers and bodies on a
 * real server and store: whatever arrives, the answer is never a 5xx. The server runs in development mode, so every
 * request reaches its handler as an admin rather than stopping at the gate.
 */

const backends = testStores();

/** Requests per route; with about sixty routes this keeps each store's run under a minute. */
const RUNS_PER_ROUTE = 40;

/** Ids of real resources, so that some requests get past "not found" into the handlers' own work. */
type Known = { runs: string[]; approvals: string[]; hashes: string[]; feedback: string[]; keys: string[] };

const loneSurrogates = fc.constantFrom("\ud800", "\udbff", "\udc00", "\udfff", "a\ud83d", "\ude00b");
const around = (inner: fc.Arbitrary<string>) =>
  fc.tuple(fc.string({ maxLength: 8 }), inner, fc.string({ maxLength: 8 })).map((parts) => parts.join(""));
/** Strings an attacker would try, weighted toward what PostgreSQL or an encoder cannot take (NUL, half a pair). */
const hostileText = fc.oneof(
  { weight: 4, arbitrary: around(fc.constantFrom("\u0000", "\u0000\u0000")) },
  { weight: 4, arbitrary: around(loneSurrogates) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "../../etc/passwd",
      "..\\..\\windows",
      "%00",
      "%2e%2e%2f",
      "' OR 1=1 --",
      "\u202etxt.exe",
      "🎉👩‍👩‍👧",
      "",
      " ",
      "null",
      "undefined",
      "true",
      "[]",
      "{}",
      "__proto__",
      "constructor",
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom("x".repeat(5_000), "\u0000".repeat(3_000), "é".repeat(70_000)) },
);
const numberText = fc.oneof(
  fc.constantFrom(
    "-1",
    "0",
    "-0",
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "-1e400",
    "1e-400",
    "1e21",
    "0x10",
    "1_000",
    "99999999999",
    "9223372036854775808",
    "2147483648",
    "9".repeat(40),
    "1.5",
    "0.0000000001",
    "１２",
  ),
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
  fc.double({ noNaN: false }).map(String),
  fc.integer().map(String),
);
/** JSON written into a body as is: numbers JSON.parse turns into Infinity or rounds, nesting far too deep. */
type RawJson = { raw: string };
const rawJson: fc.Arbitrary<RawJson> = fc
  .oneof(
    fc.constantFrom(
      "1e400",
      "-1e400",
      "1e-400",
      "99999999999999999999",
      "-0",
      "2147483648",
      "9223372036854775808",
    ),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((value) => JSON.stringify(value)),
    fc.bigInt({ min: -(10n ** 25n), max: 10n ** 25n }).map(String),
    fc
      .constantFrom(2, 63, 64, 65, 1_000, 100_000)
      .chain((depth) =>
        fc.constantFrom(
          `${"[".repeat(depth)}${"]".repeat(depth)}`,
          `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`,
        ),
      ),
  )
  .map((raw) => ({ raw }));
/** A value for one field of a body: a hostile string, raw JSON, or a value of the wrong type or shape. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: hostileText },
  { weight: 2, arbitrary: rawJson },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, 0, -1, [], {}, [1, 2], { extra: "field" }) },
  { weight: 1, arbitrary: fc.dictionary(hostileText, hostileText, { maxKeys: 3 }) },
  { weight: 1, arbitrary: fc.array(hostileText, { maxLength: 3 }) },
);
const RAW = "\u0001raw\u0001";

describe("input at the edge", () => {
  for (const backend of backends) {
    describe(`on ${backend.name}`, () => {
      let store: SqlStore;
      let server: RunningServer;
      let model: LoopbackProvider;
      const logs: string[] = [];
      const known: Known = { runs: [], approvals: [], hashes: [], feedback: [], keys: [] };

      const send = async (request: {
        method: string;
        path: string;
        headers?: Record<string, string>;
        body?: string;
      }) => {
        const response = await server.app.request(request.path, {
          method: request.method,
          headers: request.headers ?? {},
          ...(request.body === undefined ? {} : { body: request.body }),
        });
        // An event stream of a run that waits for a person never ends: its status is what matters.
        if ((response.headers.get("content-type") ?? "").startsWith("text/event-stream"))
          await response.body?.cancel();
        else await response.text();
        return response.status;
      };

      before(async () => {
        store = await backend.open();
        // The governed model endpoint reaches a loopback server speaking OpenAI's protocol, so a well-formed call
        // gets an answer and only what the caller sent decides the status.
        model = await startLoopbackProvider({ wire: "openai", record: false });
        server = await startServer({
          store,
          packages: await importAgentPackages(writeTenantAgents(["default"])),
          env: { OPENAI_API_KEY: "sk-loopback", OPENAI_BASE_URL: model.baseUrl },
          host: "127.0.0.1",
          port: 0,
          log: (line) => logs.push(line),
        });
        const json = { "content-type": "application/json" };
        for (const input of ["hello", "please send a note", "send a note again"]) {
          await send({
            method: "POST",
            path: "/v1/agents/default-helper/runs",
            headers: json,
            body: JSON.stringify({ input }),
          });
        }
        for (let i = 0; i < 400; i++) {
          const busy = await store.sql.query(
            "SELECT 1 FROM keel_runs WHERE status IN ('queued', 'running') LIMIT 1",
          );
          if (busy.rows.length === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        known.runs = (await store.listRuns({ tenant: "default", limit: 10 })).runs.map((run) => run.runId);
        await send({
          method: "POST",
          path: `/v1/runs/${known.runs[0]}/feedback`,
          headers: json,
          body: JSON.stringify({ rating: "up" }),
        });
        const approvals = await store.listApprovals({ tenant: "default", limit: 10 });
        known.approvals = approvals.map((approval) => approval.approvalId);
        known.hashes = approvals.flatMap((approval) =>
          approval.argumentsHash ? [approval.argumentsHash] : [],
        );
        const feedback = await store.sql.query<{ event_id: string | number }>(
          "SELECT event_id FROM keel_evaluation_events",
        );
        known.feedback = feedback.rows.map((row) => String(row.event_id));
        known.keys = [
          (
            await createSqlApiKeyStore(store.sql).create({
              tenant: "default",
              roles: ["viewer"],
              createdBy: "test",
            })
          ).key.keyId,
        ];
        await createAuditCheckpoint(store.sql, { signer: await loadAuditSigner(store.sql) });
      });
      after(async () => {
        await server.close();
        await store.close();
        await model.close();
      });

      test("refuses the hostile input that used to reach the store with 400 naming the field", async () => {
        const json = { "content-type": "application/json" };
        const cases: { method: string; path: string; body?: unknown; field: string }[] = [
          { method: "GET", path: "/v1/runs?agent=%00", field: "agent" },
          { method: "GET", path: "/v1/traces?minCost=99999999999", field: "minCost" },
          { method: "GET", path: "/v1/approvals?team=a%00b", field: "team" },
          { method: "GET", path: "/v1/audit/proof?runId=%00&seq=1", field: "runId" },
          { method: "GET", path: "/v1/registry/default-helper/card?version=%00", field: "version" },
          { method: "GET", path: "/v1/costs?since=99999999999d", field: "since" },
          {
            method: "POST",
            path: "/v1/agents/default-helper/runs",
            body: { input: "hi", idempotencyKey: "k\u0000" },
            field: "idempotencyKey",
          },
          {
            method: "POST",
            path: `/v1/runs/${known.runs[0]}/feedback`,
            body: { rating: "up", comment: "\ud800" },
            field: "comment",
          },
          {
            method: "POST",
            path: "/v1/registry/default-helper/incidents",
            body: { description: "a\u0000" },
            field: "description",
          },
          {
            method: "PUT",
            path: "/v1/registry/default-helper/versions/1.0.0/owner",
            body: { team: "t\u0000", person: null },
            field: "team",
          },
          {
            method: "POST",
            path: "/v1/registry/default-helper/versions/1.0.0/attestations",
            body: { gate: GATES[0], evidence: "\udfff" },
            field: "evidence",
          },
          {
            method: "POST",
            path: `/v1/approvals/${known.approvals[0]}/decision`,
            body: { decision: "approve", arguments: { "k\u0000": 1 } },
            field: "arguments.k\\u0000",
          },
        ];
        for (const { method, path, body, field } of cases) {
          const response = await server.app.request(path, {
            method,
            headers: { ...json, "x-keel-subject": "tester" },
            ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          });
          const answer = (await response.json()) as { error: { issues?: { path: string }[] } };
          assert.equal(response.status, 400, `${method} ${path}`);
          assert.equal(answer.error.issues?.[0]?.path, field, `${method} ${path}`);
        }
        const deep = await server.app.request(`/v1/approvals/${known.approvals[0]}/decision`, {
          method: "POST",
          headers: { ...json, "x-keel-subject": "tester" },
          body: `{"decision":"approve","arguments":${"[".repeat(10_000)}${"]".repeat(10_000)}}`,
        });
        assert.equal(deep.status, 400);
        assert.match(((await deep.json()) as { error: { message: string } }).error.message, /deeper than 64/);
      });

      test("every path parameter, query field and body field of every route takes NUL, half a surrogate pair and numbers out of range without a 5xx", async () => {
        const failures: string[] = [];
        for (const access of API_ROUTE_LIST) {
          for (const target of targetsOf(access, known)) {
            if (target.kind === "header" || target.kind === "shape") continue;
            const values: readonly unknown[] = target.kind === "body" ? [...SWEEP, ...SWEEP_RAW] : SWEEP;
            for (const value of values) {
              const request =
                target.kind === "body"
                  ? build(access, known, { ...target, value })
                  : build(access, known, { ...target, value: String(value) });
              const before = logs.length;
              const status = await send(request);
              if (status >= 500)
                failures.push(
                  `${request.method} ${request.path} ${request.body ?? ""} → ${status}: ${logs.slice(before).join(" ").slice(0, 300)}`,
                );
            }
          }
        }
        assert.deepEqual(failures, []);
      });

      for (const access of API_ROUTE_LIST) {
        test(`${access.method} ${access.path} answers hostile input without a 5xx (property)`, async () => {
          await fc.assert(
            fc.asyncProperty(requestFor(access, known), async (request) => {
              const before = logs.length;
              const status = await send(request);
              assert.ok(
                status < 500,
                `${request.method} ${request.path} → ${status}\n${logs.slice(before).join("\n").slice(0, 2_000)}`,
              );
            }),
            { numRuns: RUNS_PER_ROUTE },
          );
        });
      }
    });
  }
});

/** One part of a request to make hostile: a path parameter, a query field, a body field, the body's shape, a header. */
type Target =
  | { kind: "param"; name: string }
  | { kind: "query"; name: string }
  | { kind: "body"; name: string }
  | { kind: "shape" }
  | { kind: "header" };

/** The values the sweep sends in every part: what used to reach PostgreSQL and fail there. */
const SWEEP: readonly string[] = [
  "\u0000",
  "a\u0000b",
  "\ud800",
  "x\udfffy",
  "99999999999",
  "1e400",
  "-1",
  "9".repeat(40),
];
/** And in every body field, as raw JSON. */
const SWEEP_RAW: readonly RawJson[] = [
  "1e400",
  "99999999999999999999",
  "[".repeat(100) + "]".repeat(100),
].map((raw) => ({ raw }));

/** Every part of a route a client controls, read from its route table entry and its handler's body shape. */
function targetsOf(access: ApiRoute, known: Known): Target[] {
  const params = [...access.path.matchAll(/:(\w+)/g)].map((match) => ({
    kind: "param" as const,
    name: match[1]!,
  }));
  const fields = [...Object.keys(access.query?.shape ?? {}), "unknownField"].map((name) => ({
    kind: "query" as const,
    name,
  }));
  const body =
    access.method === "GET"
      ? []
      : [
          ...[...Object.keys(seedBody(access.path, known)), "extra"].map((name) => ({
            kind: "body" as const,
            name,
          })),
          { kind: "shape" as const },
        ];
  return [...params, ...fields, ...body, { kind: "header" as const }];
}

type Sent = { method: string; path: string; headers: Record<string, string>; body?: string };

/** A request to a route, well formed but for the one hostile part. */
function build(
  access: ApiRoute,
  known: Known,
  part:
    | { kind: "param" | "query"; name: string; value: string }
    | { kind: "body"; name: string; value: unknown }
    | { kind: "shape"; body: string | undefined }
    | { kind: "header"; name: string; value: string },
): Sent {
  const path = access.path.replace(/:(\w+)/g, (_, name: string) =>
    encodeSegment(
      part.kind === "param" && part.name === name ? part.value : validParam(access.path, name, known),
    ),
  );
  const search = part.kind === "query" ? `?${encodeSegment(part.name)}=${encodeSegment(part.value)}` : "";
  const headers: Record<string, string> = { "content-type": "application/json", "x-keel-subject": "tester" };
  if (part.kind === "header") headers[part.name] = part.value;
  let body: string | undefined;
  if (part.kind === "shape") body = part.body;
  else if (access.method !== "GET") {
    const seed: Record<string, unknown> = { ...seedBody(access.path, known) };
    const raw = part.kind === "body" && isRaw(part.value) ? part.value.raw : null;
    if (part.kind === "body") seed[part.name] = raw === null ? part.value : RAW;
    body = JSON.stringify(seed);
    if (raw !== null) body = body.replace(JSON.stringify(RAW), raw);
  }
  return {
    method: access.method,
    path: `${path}${search}`,
    headers,
    ...(body === undefined ? {} : { body }),
  };
}

/**
 * One request to a route with one hostile part, chosen evenly among the route's parameters, query fields, body
 * fields, body shape and headers; every other part is well formed, so the hostile part is what the server meets.
 */
function requestFor(access: ApiRoute, known: Known): fc.Arbitrary<Sent> {
  const hostile = fc.oneof({ weight: 3, arbitrary: hostileText }, { weight: 1, arbitrary: numberText });
  return fc.constantFrom(...targetsOf(access, known)).chain((target): fc.Arbitrary<Sent> => {
    switch (target.kind) {
      case "param":
      case "query":
        return hostile.map((value) => build(access, known, { ...target, value }));
      case "body":
        return hostileValue.map((value) => build(access, known, { ...target, value }));
      case "shape":
        return bodyShape(access.path, known).map((body) => build(access, known, { kind: "shape", body }));
      case "header":
        return fc
          .oneof(
            fc.record({
              name: fc.constant("content-type"),
              value: fc.constantFrom(
                "text/plain; application/json",
                "text/plain",
                "application/x-www-form-urlencoded",
                "application/json; charset=utf-16",
                "application/json; charset=utf-8",
              ),
            }),
            fc.record({
              name: fc.constantFrom("last-event-id", "traceparent", "x-keel-subject", "x-keel-roles"),
              value: fc.oneof(hostileText, numberText).filter(isByteString),
            }),
          )
          .map((header) => build(access, known, { kind: "header", ...header }));
      default: {
        const unreachable: never = target;
        return unreachable;
      }
    }
  });
}

/** A path parameter naming something that exists, so requests get past "not found" to the hostile part. */
function validParam(path: string, name: string, known: Known): string {
  if (name === "name" || name === "agent") return "default-helper";
  if (name === "version") return "1.0.0";
  if (name === "tenant") return "default";
  if (name === "traceId") return "0".repeat(32);
  if (path.startsWith("/v1/approvals/")) return known.approvals[0] ?? "apr_none";
  if (path.startsWith("/v1/feedback/")) return known.feedback[0] ?? "1";
  if (path.startsWith("/v1/keys/")) return known.keys[0] ?? "none";
  return known.runs[0] ?? "run_none";
}

/** A whole body of the wrong shape: any JSON value, raw JSON, broken JSON, the expected shape, or none at all. */
function bodyShape(path: string, known: Known): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    fc.constant(JSON.stringify(seedBody(path, known))),
    fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
    rawJson.map((value) => value.raw),
    fc.constantFrom("{", '{"a":1}}', "\u0000", "", '{"a":"\\ud800"}', '{"\\u0000":1}', "\ufeff{}"),
    fc.constant(undefined),
  );
}

/** The shape a route's handler reads; routes without a body get an empty object. */
function seedBody(path: string, known: Known): Record<string, unknown> {
  if (path.endsWith("/runs")) return { input: "send a note", idempotencyKey: "key-1" };
  if (path.endsWith("/decision"))
    return { decision: "approve", argumentsHash: known.hashes[0], arguments: { text: "x" }, comment: "ok" };
  if (path.endsWith("/feedback")) return { rating: "down", comment: "slow" };
  if (path.endsWith("/promote")) return { expected: "an answer" };
  if (path.endsWith("/attestations"))
    return { gate: GATES[0], evidence: "https://example.test", details: { score: 0.9, threshold: 0.8 } };
  if (path.endsWith("/status")) return { status: AGENT_STATUSES[1], reason: "testing" };
  if (path.endsWith("/reviews")) return { evidence: "https://example.test" };
  if (path.endsWith("/incidents")) return { description: "an incident" };
  if (path.endsWith("/owner")) return { team: "team-a", person: "pat" };
  if (path === "/v1/keys") return { roles: ["viewer"], name: "a key" };
  if (path === "/v1/chat/completions")
    return {
      model: "openai/gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 16,
      temperature: 0.5,
    };
  if (path.endsWith("/kill")) return { reason: "testing" };
  return {};
}

function isRaw(value: unknown): value is RawJson {
  return typeof value === "object" && value !== null && "raw" in value;
}

/** Percent-encode anything; a lone surrogate goes as U+FFFD, as a browser sends it (a URL cannot carry one). */
function encodeSegment(value: string): string {
  return encodeURIComponent(value.toWellFormed());
}

function isByteString(value: string): boolean {
  return /^[\u0020-\u007e\u0080-\u00ff]*$/.test(value) && value.trim() === value;
}
