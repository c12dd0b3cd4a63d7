import { z } from "zod";
import type { ControlPlaneRole } from "../governance/control-plane-roles.ts";
import { INSTANT_EXPECTED, instantOf } from "./trace-query-params.ts";

/** What a path parameter (or query field) names, so the caller's tenant can be checked against its owner's. */
export type OwnedResource = "agent" | "run" | "approval" | "feedback" | "tenant" | "key";

/** One route of the HTTP API: who may call it, what it reaches into, and which query fields it takes. */
export type RouteAccess = {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** The Hono path pattern, exactly as the route is registered. */
  path: string;
  /** `public`: no key needed. Otherwise the roles allowed besides `admin`, which may do everything in its tenant. */
  roles: "public" | readonly ControlPlaneRole[];
  /**
   * Platform routes see or change every tenant (Prometheus metrics, the global kill switch): only keys of the
   * platform tenant may call them, and only with one of the roles.
   */
  platform?: boolean;
  /** Path parameters (or `?field`) naming a resource that must belong to the caller's tenant, else 404. */
  owns?: Readonly<Record<string, OwnedResource>>;
  /**
   * The query fields the route accepts, any other being a 400 (validate-input.ts). Each schema bounds its value to
   * what the handler and the column it reaches can hold, so no query value fails inside the store.
   */
  query?: Readonly<Record<string, z.ZodType<string>>>;
  /** The largest body the route reads, in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  /** One line for the docs' route × role table. */
  summary: string;
};

/** Every role that may read (besides admin): the reading half of each job. Invokers only see agents and runs. */
const READ: readonly ControlPlaneRole[] = ["viewer", "deployer", "approver", "operator"];
const READ_AND_INVOKE: readonly ControlPlaneRole[] = [...READ, "invoker"];

/** The most US dollars a cost filter may name: costs are compared as nano-dollars in a bigint column. */
const MAX_USD = 9_223_372_036;

const text = z.string().min(1).max(200);
const count = z.string().regex(/^\d{1,6}$/, "expected a whole number from 0 to 999999");
const decimal = z.string().regex(/^\d{1,12}(\.\d{1,9})?$/, "expected a non-negative number");
const usd = decimal.refine((value) => Number(value) <= MAX_USD, `expected at most ${MAX_USD} (US dollars)`);
const flag = z.enum(["true", "false", "1", "0"]);
const instant = z
  .string()
  .min(1)
  .max(40)
  .refine((value) => instantOf(value) !== null, INSTANT_EXPECTED);
/** A duration back from now (`1d`), or a window of two (`8d..1d`), as the drift check takes them. */
const span = z.string().regex(/^\d{1,5}[smhd]$/, "expected a duration such as 1d (s, m, h, d)");
const spanRange = z
  .string()
  .regex(/^\d{1,5}[smhd](\.\.\d{1,5}[smhd])?$/, "expected a window such as 8d..1d (s, m, h, d)");
const window = { agent: text, since: instant, until: instant };

/**
 * The route table: one entry per registered route, checked by the authorization middleware before any handler
 * runs (a route missing here answers 404 to everyone) and rendered as the route × role table in docs/security.md.
 * Static paths come before parameterised ones with the same prefix, as Hono matches them.
 */
export const ROUTE_ACCESS: readonly RouteAccess[] = [
  { method: "GET", path: "/healthz", roles: "public", summary: "liveness and the store kind" },
  {
    method: "GET",
    path: "/readyz",
    roles: "public",
    summary: "readiness: 503 while the store cannot answer",
  },
  {
    method: "GET",
    path: "/metrics",
    roles: READ,
    platform: true,
    summary: "Prometheus metrics of every tenant",
  },

  { method: "GET", path: "/v1/agents", roles: READ_AND_INVOKE, summary: "the tenant's agents" },
  {
    method: "GET",
    path: "/v1/agents/:name",
    roles: READ_AND_INVOKE,
    owns: { name: "agent" },
    summary: "one agent",
  },
  {
    method: "POST",
    path: "/v1/agents/:name/runs",
    roles: ["invoker"],
    owns: { name: "agent" },
    summary: "start a run",
  },
  {
    method: "GET",
    path: "/v1/runs",
    roles: READ_AND_INVOKE,
    query: { agent: text, status: text, limit: count, before: instant },
    summary: "list runs",
  },
  { method: "GET", path: "/v1/runs/:id", roles: READ_AND_INVOKE, owns: { id: "run" }, summary: "one run" },
  {
    method: "GET",
    path: "/v1/runs/:id/journal",
    roles: READ_AND_INVOKE,
    owns: { id: "run" },
    query: { after: count },
    summary: "a run's events as JSON",
  },
  {
    method: "GET",
    path: "/v1/runs/:id/events",
    roles: READ_AND_INVOKE,
    owns: { id: "run" },
    query: { after: count },
    summary: "a run's events as SSE",
  },
  {
    method: "POST",
    path: "/v1/runs/:id/cancel",
    roles: ["operator"],
    owns: { id: "run" },
    summary: "cancel a run",
  },

  {
    method: "GET",
    path: "/v1/kill-switches",
    roles: READ,
    summary: "kill switches that apply to the tenant",
  },
  {
    method: "POST",
    path: "/v1/agents/:name/kill",
    roles: ["operator"],
    owns: { name: "agent" },
    summary: "throw an agent's kill switch",
  },
  {
    method: "POST",
    path: "/v1/agents/:name/resume",
    roles: ["operator"],
    owns: { name: "agent" },
    summary: "lift an agent's kill switch",
  },
  {
    method: "POST",
    path: "/v1/tenants/:tenant/kill",
    roles: ["operator"],
    owns: { tenant: "tenant" },
    summary: "throw the tenant's kill switch (the platform tenant: any tenant's)",
  },
  {
    method: "POST",
    path: "/v1/tenants/:tenant/resume",
    roles: ["operator"],
    owns: { tenant: "tenant" },
    summary: "lift the tenant's kill switch",
  },
  { method: "POST", path: "/v1/kill", roles: ["operator"], platform: true, summary: "stop everything" },
  {
    method: "POST",
    path: "/v1/resume",
    roles: ["operator"],
    platform: true,
    summary: "lift the global switch",
  },

  {
    method: "GET",
    path: "/v1/agents/:name/policies",
    roles: READ,
    owns: { name: "agent" },
    summary: "an agent's policies",
  },
  {
    method: "POST",
    path: "/v1/agents/:name/policies/reload",
    roles: ["deployer", "operator"],
    owns: { name: "agent" },
    summary: "re-read an agent's policies",
  },
  {
    method: "GET",
    path: "/v1/agents/:name/policies/shadow-report",
    roles: READ,
    owns: { name: "agent" },
    summary: "what shadow policies would change",
  },

  {
    method: "POST",
    path: "/v1/telemetry/drift",
    roles: ["operator"],
    owns: { "?agent": "agent" },
    query: { agent: text, baseline: spanRange, current: span, threshold: decimal },
    summary: "check an agent for drift",
  },
  {
    method: "GET",
    path: "/v1/runs/:id/trace",
    roles: READ,
    owns: { id: "run" },
    summary: "a run's span tree",
  },
  {
    method: "GET",
    path: "/v1/traces/:traceId",
    roles: READ,
    summary: "the tenant's runs of a trace",
  },
  {
    method: "GET",
    path: "/v1/traces",
    roles: READ,
    query: {
      ...window,
      version: text,
      status: text,
      policy: text,
      path: z.string().min(1).max(2_000),
      tool: z.string().min(1).max(2_000),
      errors: flag,
      escalated: flag,
      minRetries: count,
      minCost: usd,
      maxCost: usd,
      minLatencyMs: decimal,
      maxLatencyMs: decimal,
      limit: count,
    },
    summary: "decision-path search over the tenant's runs",
  },
  {
    method: "GET",
    path: "/v1/costs",
    roles: READ,
    query: { ...window, by: text },
    summary: "the tenant's costs",
  },
  {
    method: "GET",
    path: "/v1/telemetry/top",
    roles: READ,
    query: { ...window, by: text, limit: count },
    summary: "the tenant's costliest or slowest runs",
  },
  {
    method: "GET",
    path: "/v1/telemetry/percentiles",
    roles: READ,
    query: window,
    summary: "latency and cost percentiles",
  },
  { method: "GET", path: "/v1/telemetry/rates", roles: READ, query: window, summary: "rates per agent" },

  {
    method: "POST",
    path: "/v1/runs/:id/feedback",
    roles: ["invoker", "approver", "operator"],
    owns: { id: "run" },
    summary: "rate a run",
  },
  { method: "GET", path: "/v1/runs/:id/scores", roles: READ, owns: { id: "run" }, summary: "a run's scores" },
  {
    method: "POST",
    path: "/v1/feedback/:id/promote",
    roles: ["deployer"],
    owns: { id: "feedback" },
    summary: "a rated run as an eval case",
  },
  {
    method: "GET",
    path: "/v1/runs/:id/eval-case",
    roles: READ,
    owns: { id: "run" },
    summary: "a run as an eval case",
  },
  {
    method: "GET",
    path: "/v1/agents/:name/scores",
    roles: READ,
    owns: { name: "agent" },
    query: { type: text, bucket: text, since: instant },
    summary: "an agent's scores over time",
  },
  {
    method: "GET",
    path: "/v1/agents/:name/versions/:version/eval-gate",
    roles: READ,
    owns: { name: "agent" },
    summary: "the latest eval gate verdict",
  },

  {
    method: "GET",
    path: "/v1/approvals",
    roles: READ,
    query: {
      status: text,
      team: text,
      agent: text,
      tool: text,
      kind: text,
      run: text,
      overdue: flag,
      limit: count,
    },
    summary: "the tenant's approval queue",
  },
  {
    method: "GET",
    path: "/v1/approvals/metrics",
    roles: READ,
    summary: "the tenant's queue health: depth, approval rate, time to decision",
  },
  {
    method: "GET",
    path: "/v1/approvals/:id",
    roles: READ,
    owns: { id: "approval" },
    summary: "one approval request",
  },
  {
    method: "POST",
    path: "/v1/approvals/:id/decision",
    roles: ["approver"],
    owns: { id: "approval" },
    summary: "approve, reject or resolve",
  },
  {
    method: "POST",
    path: "/v1/approvals/:id/promote",
    roles: ["approver", "deployer"],
    owns: { id: "approval" },
    summary: "a decided request as an eval case",
  },

  { method: "GET", path: "/v1/registry", roles: READ, summary: "the tenant's registered agent versions" },
  {
    method: "GET",
    path: "/v1/registry/:agent",
    roles: READ,
    owns: { agent: "agent" },
    summary: "an agent's versions and history",
  },
  {
    method: "GET",
    path: "/v1/registry/:agent/card",
    roles: READ,
    owns: { agent: "agent" },
    query: { version: text },
    summary: "an agent's one-page card",
  },
  {
    method: "POST",
    path: "/v1/registry/:agent/versions/:version/attestations",
    roles: ["deployer"],
    owns: { agent: "agent" },
    summary: "attest a deployment gate",
  },
  {
    method: "POST",
    path: "/v1/registry/:agent/versions/:version/status",
    roles: ["deployer"],
    owns: { agent: "agent" },
    summary: "move a version through its lifecycle",
  },
  {
    method: "POST",
    path: "/v1/registry/:agent/versions/:version/reviews",
    roles: ["deployer"],
    owns: { agent: "agent" },
    summary: "record a review",
  },
  {
    method: "POST",
    path: "/v1/registry/:agent/incidents",
    roles: ["deployer", "operator"],
    owns: { agent: "agent" },
    summary: "report an incident",
  },
  {
    method: "PUT",
    path: "/v1/registry/:agent/versions/:version/owner",
    roles: ["deployer"],
    owns: { agent: "agent" },
    summary: "change a version's owner",
  },

  {
    method: "POST",
    path: "/v1/chat/completions",
    roles: ["invoker"],
    maxBodyBytes: 4 * 1024 * 1024,
    summary: "the governed model endpoint",
  },

  // One audit log holds every tenant's events: a checkpoint's tree size and a proof's leaf index count them all,
  // so both routes belong to the platform (docs/security.md, "Audit log").
  {
    method: "GET",
    path: "/v1/audit/checkpoints/latest",
    roles: READ,
    platform: true,
    summary: "the latest signed checkpoint",
  },
  {
    method: "GET",
    path: "/v1/audit/proof",
    roles: READ,
    platform: true,
    query: { runId: text, seq: count },
    summary: "an inclusion proof for any event",
  },

  { method: "GET", path: "/v1/keys", roles: [], summary: "the tenant's API keys (never their secrets)" },
  { method: "POST", path: "/v1/keys", roles: [], summary: "create a key in the tenant (secret shown once)" },
  { method: "DELETE", path: "/v1/keys/:id", roles: [], owns: { id: "key" }, summary: "revoke a key" },
];
