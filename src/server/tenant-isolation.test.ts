import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { writeTenantAgents } from "../../test/support/tenant-agents.ts";
import { testStores } from "../../test/support/test-database.ts";
import { API_ROUTE_LIST } from "../api/index.ts";
import { importAgentPackages } from "../cli/agent-packages.ts";
import { createSqlApiKeyStore } from "../governance/sql-api-key-store.ts";
import { GATES } from "../registry/lifecycle-rules.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { type RunningServer, startServer } from "./start-server.ts";

/** Two tenants; names with a dash and a digit cannot occur inside generated ids by chance. */
const TENANTS = ["t-acme1", "t-globex2"] as const;
type Side = 0 | 1;

/** What a tenant owns, as ids; anything here must never reach the other tenant. */
type Owned = {
  tenant: string;
  agent: string;
  runs: string[];
  approvals: { id: string; hash: string | null }[];
  keys: string[];
  feedback: string[];
  traces: string[];
  markers: string[];
  admin: string;
  invoker: string;
};

const backends = testStores();

for (const backend of backends) {
  describe(`tenant isolation on ${backend.name}`, () => {
    let store: SqlStore;
    let server: RunningServer;
    const owned: [Owned, Owned] = [blank(TENANTS[0]), blank(TENANTS[1])];

    const call = async (key: string, method: string, path: string, body?: unknown) => {
      const controller = new AbortController();
      const response = await fetch(`${server.url}${path}`, {
        method,
        signal: controller.signal,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      // An event stream of a run that waits for a person never ends: its status is what matters.
      if ((response.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
        controller.abort();
        return { status: response.status, text: "" };
      }
      return { status: response.status, text: await response.text() };
    };

    const settle = async (side: Side) => {
      for (let i = 0; i < 400; i++) {
        // Work still under way: runs queued or running, and suspended runs whose cancel a worker has yet to carry out.
        const busy = await store.sql.query(
          `SELECT 1 FROM keel_runs WHERE tenant = $1
              AND (status IN ('queued', 'running') OR (status = 'suspended' AND cancel_requested)) LIMIT 1`,
          [owned[side].tenant],
        );
        if (busy.rows.length === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await refresh(side);
    };

    /** Re-read what a tenant owns now: runs, approval requests, keys, feedback, trace ids. */
    const refresh = async (side: Side) => {
      const mine = owned[side];
      mine.runs = (await store.listRuns({ tenant: mine.tenant, limit: 1_000 })).runs.map((run) => run.runId);
      mine.approvals = (await store.listApprovals({ tenant: mine.tenant, limit: 1_000 })).map((approval) => ({
        id: approval.approvalId,
        hash: approval.argumentsHash,
      }));
      mine.keys = (
        await createSqlApiKeyStore(store.sql).list({ tenant: mine.tenant, includeRevoked: true })
      ).map((key) => key.keyId);
      const feedback = await store.sql.query<{ event_id: string | number }>(
        "SELECT event_id FROM keel_evaluation_events WHERE run_id IN (SELECT run_id FROM keel_runs WHERE tenant = $1)",
        [mine.tenant],
      );
      mine.feedback = feedback.rows.map((row) => String(row.event_id));
      const traces = await store.sql.query<{ trace_id: string }>(
        "SELECT trace_id FROM keel_telemetry_runs WHERE tenant = $1",
        [mine.tenant],
      );
      mine.traces = traces.rows.map((row) => row.trace_id);
    };

    /** Everything of a tenant that another tenant could change, read straight from the store. */
    const fingerprint = async (side: Side): Promise<string> => {
      const { tenant, agent } = owned[side];
      const rows = async (sql: string, params: unknown[]) => (await store.sql.query(sql, params)).rows;
      return JSON.stringify([
        await rows(
          "SELECT run_id, status, cancel_requested, last_seq FROM keel_runs WHERE tenant = $1 ORDER BY run_id",
          [tenant],
        ),
        await rows(
          `SELECT approval_id, status, approvers FROM keel_approvals
            WHERE run_id IN (SELECT run_id FROM keel_runs WHERE tenant = $1) ORDER BY approval_id`,
          [tenant],
        ),
        await rows(
          "SELECT scope, target, reason FROM keel_kill_switches WHERE target IN ($1, $2, '*') ORDER BY scope, target",
          [tenant, agent],
        ),
        await rows("SELECT version, status, owner_team, flags FROM keel_registry_agents WHERE agent = $1", [
          agent,
        ]),
        await rows("SELECT count(*)::int AS changes FROM keel_registry_history WHERE agent = $1", [agent]),
        await rows("SELECT key_id, revoked_at FROM keel_api_keys WHERE tenant = $1 ORDER BY key_id", [
          tenant,
        ]),
        await rows(
          `SELECT count(*)::int AS scores FROM keel_evaluation_events
            WHERE run_id IN (SELECT run_id FROM keel_runs WHERE tenant = $1)`,
          [tenant],
        ),
      ]);
    };

    /** The other tenant's identifiers found in a response, apart from those the caller itself sent. */
    const leaks = (text: string, other: Owned, sent: readonly string[]): string[] => {
      const scrubbed = sent.reduce((remaining, id) => remaining.split(id).join(""), text);
      const ids = [
        other.tenant,
        other.agent,
        ...other.runs,
        ...other.approvals.map((approval) => approval.id),
        ...other.keys,
        ...other.traces,
        ...other.markers,
      ];
      return ids.filter((id) => scrubbed.includes(id));
    };

    before(async () => {
      store = await backend.open();
      const keys = createSqlApiKeyStore(store.sql);
      for (const side of [0, 1] as const) {
        const mine = owned[side];
        mine.admin = (
          await keys.create({
            tenant: mine.tenant,
            roles: ["admin", `approver:${mine.agent}`],
            name: `${mine.tenant}-admin`,
            createdBy: "test",
          })
        ).token;
        mine.invoker = (
          await keys.create({
            tenant: mine.tenant,
            roles: ["invoker"],
            name: `${mine.tenant}-app`,
            createdBy: "test",
          })
        ).token;
      }
      server = await startServer({
        store,
        packages: await importAgentPackages(writeTenantAgents(TENANTS)),
        env: { KEEL_RATE_LIMIT_PER_MINUTE: "1000000", KEEL_RATE_LIMIT_BURST: "100000" },
        host: "127.0.0.1",
        port: 0,
        log: () => undefined,
      });
      for (const side of [0, 1] as const) {
        const mine = owned[side];
        for (const input of ["hello", "please send a note"]) {
          const marker = `${mine.tenant}-marker-${mine.markers.length}`;
          mine.markers.push(marker);
          await call(mine.invoker, "POST", `/v1/agents/${mine.agent}/runs`, { input: `${input} ${marker}` });
        }
        await settle(side);
        await call(mine.admin, "POST", `/v1/runs/${mine.runs[0]}/feedback`, { rating: "up" });
        await refresh(side);
      }
    });
    after(async () => {
      await server.close();
      await store.close();
    });

    test("no route answers one tenant with the other's data or lets it change the other's state", async () => {
      for (const side of [0, 1] as const) {
        const mine = owned[side];
        const other = owned[side === 0 ? 1 : 0];
        for (const access of API_ROUTE_LIST) {
          if (access.roles === "public" || !server.app.routes.some((route) => route.path === access.path))
            continue;
          const target: Record<string, string> = {
            name: other.agent,
            agent: other.agent,
            id: targetId(access.path, other),
            tenant: other.tenant,
            version: "1.0.0",
            traceId: other.traces[0] ?? "0".repeat(32),
            // The other tenant's caller, as a data subject: erasure names a subject of the caller's own tenant, so
            // it answers zero counts (not a 404) and leaves the other tenant as it was (the fingerprint below).
            subject: `${other.tenant}-app`,
          };
          const path = access.path.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(target[name]!));
          const query = access.owns?.["?agent"]
            ? `?agent=${other.agent}`
            : access.owns?.["?runId"]
              ? `?runId=${other.runs[0]}&seq=1`
              : "";
          const before = await fingerprint(side === 0 ? 1 : 0);
          const response = await call(
            mine.admin,
            access.method,
            `${path}${query}`,
            access.method === "GET" ? undefined : bodyFor(access.path, other),
          );
          const targeted = (access.path.includes(":") && !access.path.includes(":subject")) || query !== "";
          if (targeted)
            assert.equal(response.status, access.platform ? 403 : 404, `${access.method} ${path}${query}`);
          else
            assert.ok(
              response.status !== 401 && response.status !== 500,
              `${access.method} ${path}: ${response.status}`,
            );
          // Every identifier the caller put in the path (a whole segment: a run id and a signal name both) or query.
          const segments = path.split("/");
          const sent = Object.values(target).filter(
            (id) => segments.includes(encodeURIComponent(id)) || query.includes(id),
          );
          assert.deepEqual(leaks(response.text, other, sent), [], `${access.method} ${path}`);
          await settle(side);
          assert.equal(
            await fingerprint(side === 0 ? 1 : 0),
            before,
            `${access.method} ${path} changed the other`,
          );
        }
      }
    });

    test("random sequences of operations by either tenant never cross into the other (property)", async () => {
      const operation = fc.record({
        side: fc.constantFrom<Side>(0, 1),
        op: fc.constantFrom(...OPERATIONS.map((each) => each.name)),
        pick: fc.nat(),
        foreign: fc.boolean(),
      });
      await fc.assert(
        fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 10 }), async (steps) => {
          for (const step of steps) {
            const mine = owned[step.side];
            const other = owned[step.side === 0 ? 1 : 0];
            const spec = OPERATIONS.find((each) => each.name === step.op)!;
            const subject = step.foreign ? other : mine;
            const request = spec.request(subject, step.pick, mine);
            if (!request) continue;
            const before = await fingerprint(step.side === 0 ? 1 : 0);
            const response = await call(
              request.asInvoker ? mine.invoker : mine.admin,
              request.method,
              request.path,
              request.body,
            );
            if (step.foreign && request.sent) {
              assert.equal(
                response.status,
                404,
                `${step.op} of the other tenant's ${request.sent}: ${response.text}`,
              );
            }
            assert.deepEqual(
              leaks(response.text, other, request.sent ? [request.sent] : []),
              [],
              `${step.op} ${request.path}`,
            );
            await settle(step.side);
            assert.equal(
              await fingerprint(step.side === 0 ? 1 : 0),
              before,
              `${step.op} changed the other tenant`,
            );
          }
        }),
        { numRuns: 25 },
      );
    });
  });
}

function blank(tenant: string): Owned {
  return {
    tenant,
    agent: `${tenant}-helper`,
    runs: [],
    approvals: [],
    keys: [],
    feedback: [],
    traces: [],
    markers: [],
    admin: "",
    invoker: "",
  };
}

function targetId(path: string, other: Owned): string {
  if (path.startsWith("/v1/approvals/")) return other.approvals[0]?.id ?? "apr_none";
  if (path.startsWith("/v1/feedback/")) return other.feedback[0] ?? "1";
  if (path.startsWith("/v1/keys/")) return other.keys[0] ?? "none";
  return other.runs[0] ?? "run_none";
}

function bodyFor(path: string, other: Owned): unknown {
  if (path.endsWith("/runs")) return { input: "send a note" };
  if (path.endsWith("/decision")) return { decision: "approve", argumentsHash: other.approvals[0]?.hash };
  if (path.endsWith("/feedback")) return { rating: "down", comment: "from the other tenant" };
  if (path.endsWith("/promote")) return {};
  if (path.endsWith("/attestations")) return { gate: GATES[0], evidence: "https://example.test" };
  if (path.endsWith("/status")) return { status: "paused", reason: "from the other tenant" };
  if (path.endsWith("/reviews")) return { evidence: "https://example.test" };
  if (path.endsWith("/incidents")) return { description: "from the other tenant" };
  if (path.endsWith("/owner")) return { team: null, person: null };
  if (path === "/v1/keys") return { roles: ["viewer"] };
  if (path === "/v1/chat/completions")
    return { model: "nobody/none", messages: [{ role: "user", content: "hi" }] };
  if (path.endsWith("/kill")) return { reason: "from the other tenant" };
  return undefined;
}

type Request = {
  method: string;
  path: string;
  body?: unknown;
  /** The other tenant's identifier this request names, when it names one. */
  sent?: string;
  asInvoker?: boolean;
};

const at = <T>(list: readonly T[], pick: number): T | undefined => list[pick % Math.max(1, list.length)];
const runOp =
  (suffix: string, method = "GET", body?: unknown) =>
  (owner: Owned, pick: number) => {
    const run = at(owner.runs, pick);
    return run ? { method, path: `/v1/runs/${run}${suffix}`, body, sent: run } : null;
  };
const agentOp =
  (suffix: string, method = "GET", body?: unknown) =>
  (owner: Owned) => ({
    method,
    path: `/v1/agents/${owner.agent}${suffix}`,
    body,
    sent: owner.agent,
  });
const approvalOp =
  (suffix: string, method = "GET", decide = false) =>
  (owner: Owned, pick: number) => {
    const approval = at(owner.approvals, pick);
    return approval
      ? {
          method,
          path: `/v1/approvals/${approval.id}${suffix}`,
          ...(decide ? { body: { decision: "approve", argumentsHash: approval.hash } } : {}),
          sent: approval.id,
        }
      : null;
  };
const list = (path: string) => (_owner: Owned, _pick: number, _self: Owned) => ({ method: "GET", path });

/** Every endpoint family: each operation aims at the acting tenant's own resource or, when `foreign`, the other's. */
const OPERATIONS: {
  name: string;
  request: (owner: Owned, pick: number, self: Owned) => Request | null;
}[] = [
  {
    name: "start a run",
    request: (_owner, pick, self) => {
      const marker = `${self.tenant}-marker-${self.markers.length}`;
      self.markers.push(marker);
      return {
        method: "POST",
        path: `/v1/agents/${self.agent}/runs`,
        body: { input: pick % 2 === 0 ? `hello ${marker}` : `send a note ${marker}` },
        asInvoker: true,
      };
    },
  },
  {
    name: "start a run of the other's agent",
    request: (owner) => ({ ...agentOp("/runs", "POST", { input: "hi" })(owner), asInvoker: true }),
  },
  { name: "list runs", request: list("/v1/runs?limit=500") },
  { name: "show a run", request: runOp("") },
  { name: "read a journal", request: runOp("/journal") },
  { name: "stream events", request: runOp("/events") },
  { name: "read a trace", request: runOp("/trace") },
  {
    name: "find a trace by id",
    request: (owner, pick) => {
      const trace = at(owner.traces, pick);
      return trace ? { method: "GET", path: `/v1/traces/${trace}`, sent: trace } : null;
    },
  },
  { name: "search traces", request: list("/v1/traces?limit=500") },
  { name: "costs", request: list("/v1/costs?by=agent,model") },
  { name: "top runs", request: list("/v1/telemetry/top") },
  { name: "percentiles", request: list("/v1/telemetry/percentiles") },
  { name: "rates", request: list("/v1/telemetry/rates") },
  { name: "approval queue", request: list("/v1/approvals?status=all") },
  { name: "approval metrics", request: list("/v1/approvals/metrics") },
  { name: "show an approval", request: approvalOp("") },
  { name: "decide an approval", request: approvalOp("/decision", "POST", true) },
  { name: "promote an approval", request: approvalOp("/promote", "POST") },
  { name: "cancel a run", request: runOp("/cancel", "POST") },
  { name: "rate a run", request: runOp("/feedback", "POST", { rating: "down" }) },
  { name: "read scores", request: runOp("/scores") },
  { name: "a run as an eval case", request: runOp("/eval-case") },
  {
    name: "promote feedback",
    request: (owner, pick) => {
      const id = at(owner.feedback, pick);
      return id ? { method: "POST", path: `/v1/feedback/${id}/promote`, body: {}, sent: id } : null;
    },
  },
  { name: "list agents", request: list("/v1/agents") },
  { name: "show an agent", request: agentOp("") },
  { name: "agent policies", request: agentOp("/policies") },
  { name: "agent scores", request: agentOp("/scores") },
  { name: "kill an agent", request: agentOp("/kill", "POST", { reason: "test" }) },
  { name: "resume an agent", request: agentOp("/resume", "POST") },
  {
    name: "kill a tenant",
    request: (owner) => ({ method: "POST", path: `/v1/tenants/${owner.tenant}/kill`, sent: owner.tenant }),
  },
  {
    name: "resume a tenant",
    request: (owner) => ({ method: "POST", path: `/v1/tenants/${owner.tenant}/resume`, sent: owner.tenant }),
  },
  { name: "kill switches", request: list("/v1/kill-switches") },
  { name: "registry", request: list("/v1/registry") },
  {
    name: "registry entry",
    request: (owner) => ({ method: "GET", path: `/v1/registry/${owner.agent}`, sent: owner.agent }),
  },
  {
    name: "report an incident",
    request: (owner) => ({
      method: "POST",
      path: `/v1/registry/${owner.agent}/incidents`,
      body: { description: "a test incident" },
      sent: owner.agent,
    }),
  },
  { name: "list keys", request: list("/v1/keys") },
  {
    name: "revoke a key",
    // Only the other tenant's keys: revoking one's own would lock the test out, not cross a tenant.
    request: (owner, pick, self) => {
      const key = owner === self ? undefined : at(owner.keys, pick);
      return key ? { method: "DELETE", path: `/v1/keys/${key}`, sent: key } : null;
    },
  },
];
