/**
 * The fail-closed conformance table (ARCHITECTURE.md invariant 2): every way the governor can fail or be fed
 * something it cannot trust, each of which must end in a deny that is journaled. The runner is
 * test/governor-conformance.test.ts.
 */
import { SignJWT } from "jose";
import { z } from "zod";
import { createCedarPolicyEngine } from "../../src/governance/cedar-policy-engine.ts";
import { createGovernor, type KeelGovernor } from "../../src/governance/create-governor.ts";
import type { GovernanceStore } from "../../src/governance/governance-store.ts";
import type { Governor, PolicyDecision } from "../../src/governance/governor.ts";
import { createMemoryGovernanceStore } from "../../src/governance/memory-governance-store.ts";
import type { PolicyEngine } from "../../src/governance/policy-engine.ts";
import { hashPayload } from "../../src/journal/hash.ts";
import type { AgentDefinition } from "../../src/runtime/agent-definition.ts";
import { governedTools } from "../../src/runtime/governed-tools.ts";
import type { RunState } from "../../src/runtime/run-state.ts";
import { GovernanceSection, type GovernanceSectionInput } from "../../src/spec/governance-section.ts";
import { defineTool, type Tool } from "../../src/tools/tool.ts";
import { scriptedAgent } from "./scripted-agent.ts";

/** What one case sets up: the governor, the agent, the proposed call and, optionally, damaged run state. */
export type CaseSetup = {
  governor: Governor;
  agent: AgentDefinition;
  tool: string;
  arguments: unknown;
  /** Defaults to the hash of `arguments`. */
  argumentsHash?: string;
  /** Damage the folded run state before the tool node runs (missing or malformed session state). */
  damage?: (state: RunState) => void;
};

export type FailClosedCase = {
  category: string;
  name: string;
  /** The deny code the decision must carry (any deny when absent). */
  code?: string;
  setup(): Promise<CaseSetup>;
};

/** How many times each tool of the conformance agent ran; every case must leave it at zero. */
export const executions = new Map<string, number>();

const counted = <T extends Tool>(tool: T): T => ({
  ...tool,
  execute: async (input: never, context: never) => {
    executions.set(tool.name, (executions.get(tool.name) ?? 0) + 1);
    return await tool.execute(input, context);
  },
});

const TOOLS: Tool[] = [
  counted(
    defineTool({
      name: "search_kb",
      description: "Search the help centre.",
      input: z.strictObject({
        query: z.string().min(1).max(500),
        limit: z.number().int().min(1).max(10).default(3),
      }),
      dataClasses: ["public"],
      recordLimitArgument: "limit",
      async execute() {
        return { articles: [] };
      },
    }),
  ),
  counted(
    defineTool({
      name: "get_order",
      description: "Look up an order.",
      input: z.strictObject({ orderId: z.number().int().positive() }),
      dataClasses: ["internal", "pii"],
      async execute() {
        return { status: "shipped" };
      },
    }),
  ),
  counted(
    defineTool({
      name: "issue_refund",
      description: "Refund an order.",
      input: z.strictObject({
        orderId: z.number().int().positive(),
        amount: z.number().positive(),
        reason: z.string().min(3),
      }),
      dataClasses: ["financial"],
      sideEffect: true,
      async execute() {
        return { refundId: 1 };
      },
    }),
  ),
  counted(
    defineTool({
      name: "send_email",
      description: "Email the customer.",
      input: z.strictObject({ to: z.email(), subject: z.string().min(1), body: z.string().min(1) }),
      sendsDataOutside: true,
      sideEffect: true,
      async execute() {
        return { emailId: 1 };
      },
    }),
  ),
  counted(
    defineTool({
      name: "create_ticket",
      description: "Open a ticket.",
      input: z.strictObject({
        subject: z.string().min(1),
        body: z.string().min(1),
        priority: z.enum(["low", "normal", "high"]).optional(),
      }),
      sideEffect: true,
      async execute() {
        return { ticketId: 1 };
      },
    }),
  ),
];

/** Valid arguments for each tool: a case that damages something else starts from these. */
const VALID: Record<string, unknown> = {
  search_kb: { query: "refunds", limit: 3 },
  get_order: { orderId: 1042 },
  issue_refund: { orderId: 1042, amount: 20, reason: "broken mug" },
  send_email: { to: "ada@example.com", subject: "Hello", body: "Your order shipped." },
  create_ticket: { subject: "Call back", body: "The customer wants a call." },
};
const TOOL_NAMES = Object.keys(VALID);

/** Governance under which every valid call above is allowed: the baseline each case breaks one thing of. */
const PERMISSIVE: GovernanceSectionInput = {
  allowedTools: TOOL_NAMES,
  decisionAuthority: { autonomous: TOOL_NAMES },
  dataAccess: { allowPii: true, allowFinancial: true, maxRecordsPerQuery: 10 },
};

export const conformanceAgent = scriptedAgent({ name: "conformance", turns: [], tools: TOOLS });

async function governorWith(
  options: {
    governance?: GovernanceSectionInput | null;
    store?: GovernanceStore;
    engine?: PolicyEngine;
    policyFiles?: { path: string; text: string }[];
    now?: () => number;
    maxStalenessMs?: number;
    rateLimitTimeoutMs?: number;
    version?: string;
  } = {},
): Promise<KeelGovernor> {
  const governor = createGovernor({
    store: options.store ?? createMemoryGovernanceStore(),
    ...(options.engine ? { engine: options.engine } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.maxStalenessMs === undefined ? {} : { maxStalenessMs: options.maxStalenessMs }),
    ...(options.rateLimitTimeoutMs === undefined ? {} : { rateLimitTimeoutMs: options.rateLimitTimeoutMs }),
    log: () => undefined,
  });
  const governance = options.governance === undefined ? PERMISSIVE : options.governance;
  await governor.load({
    name: conformanceAgent.name,
    version: options.version ?? conformanceAgent.version,
    governance: governance === null ? undefined : GovernanceSection.parse(governance),
    tools: governedTools(TOOLS),
    policyFiles: (options.policyFiles ?? []).map((file) => ({ ...file, mode: "enforce" as const })),
  });
  return governor;
}

const simple = (
  category: string,
  name: string,
  code: string | undefined,
  build: () => Promise<Omit<CaseSetup, "agent">>,
): FailClosedCase => ({
  category,
  name,
  ...(code === undefined ? {} : { code }),
  setup: async () => ({ agent: conformanceAgent, ...(await build()) }),
});

/** Wraps a governor so its allow carries another token: the tool side must refuse it. */
function withToken(
  inner: Governor,
  token: (decision: PolicyDecision & { decision: "allow" }) => Promise<string> | string,
): Governor {
  return {
    async decide(request, options) {
      const decision = await inner.decide(request, options);
      if (decision.decision !== "allow") return decision;
      return { ...decision, capability: await token(decision) };
    },
    verifyCapability: (value, binding) => inner.verifyCapability(value, binding),
  };
}

/** A team policy on one tool whose condition only Cedar can decide. */
function quarantine(tool: string): { path: string; text: string } {
  return {
    path: "quarantine.cedar",
    text: `forbid(principal, action == Keel::Action::"tool:${tool}", resource) when { context.session.dataClasses.contains("quarantined") };`,
  };
}

function engineFailure(kind: "throws" | "throws-text" | "errors" | "undecided" | "undefined"): PolicyEngine {
  const real = createCedarPolicyEngine();
  return {
    load: (setId, policies) => real.load(setId, policies),
    evaluate() {
      switch (kind) {
        case "throws":
          throw new Error("the WebAssembly instance ran out of memory");
        case "throws-text":
          throw "cedar panicked";
        case "errors":
          return {
            decision: "allow",
            determining: ["x"],
            errors: ["x: type error: expected long, got string"],
          };
        case "undecided":
          return { decision: "maybe" as "allow", determining: [], errors: [] };
        case "undefined":
          return undefined as never;
        default:
          throw new Error("unreachable");
      }
    },
  };
}

/** Every fail-closed case: the issue's categories, each across the tools or inputs it applies to. */
export function failClosedCases(): FailClosedCase[] {
  const cases: FailClosedCase[] = [];
  const add = (...more: FailClosedCase[]) => cases.push(...more);

  // 1. The policy engine fails.
  for (const kind of ["throws", "throws-text", "errors", "undecided", "undefined"] as const) {
    for (const tool of TOOL_NAMES) {
      add(
        simple("policy engine failure", `${tool}: the engine ${kind}`, undefined, async () => ({
          // A conditional policy on the tool, so deciding it needs the engine (unconditional permits do not).
          governor: await governorWith({ engine: engineFailure(kind), policyFiles: [quarantine(tool)] }),
          tool,
          arguments: VALID[tool],
        })),
      );
    }
  }
  const loadFails: PolicyEngine = {
    load() {
      throw new Error("policy set failed to parse");
    },
    evaluate() {
      throw new Error("never loaded");
    },
  };
  add(
    simple("policy engine failure", "the policy set never loaded", "unknown_agent", async () => {
      const governor = createGovernor({ store: createMemoryGovernanceStore(), engine: loadFails });
      await governor
        .load({
          name: conformanceAgent.name,
          version: conformanceAgent.version,
          governance: GovernanceSection.parse(PERMISSIVE),
          tools: governedTools(TOOLS),
          policyFiles: [],
        })
        .catch(() => undefined);
      return { governor, tool: "get_order", arguments: VALID.get_order };
    }),
  );
  // A team policy whose evaluation errors at run time (a text compared as a number): Cedar skips it, Keel denies.
  for (const tool of TOOL_NAMES) {
    add(
      simple(
        "policy engine failure",
        `${tool}: a policy errors during evaluation`,
        "policy_error",
        async () => ({
          governor: await governorWith({
            policyFiles: [
              {
                path: "broken.cedar",
                text: `forbid(principal, action == Keel::Action::"tool:${tool}", resource) when { context.argumentsHash > 5 };`,
              },
            ],
          }),
          tool,
          arguments: VALID[tool],
        }),
      ),
    );
  }

  // 2. Unknown tools: names the agent does not have, however close to one it does.
  for (const name of [
    "rm_rf",
    "GET_ORDER",
    "get_order ",
    " get_order",
    "get-order",
    "get_оrder",
    "../get_order",
    "get_order\u200b",
    "__proto__",
    "constructor",
    "toString",
    "hasOwnProperty",
    "x".repeat(10_000),
    "issue_refund; send_email",
    "*",
  ]) {
    add(
      simple(
        "unknown tool",
        `a call to ${JSON.stringify(name.length > 40 ? `${name.slice(0, 20)}…` : name)}`,
        "unknown_tool",
        async () => ({
          governor: await governorWith(),
          tool: name,
          arguments: {},
        }),
      ),
    );
  }

  // 3. Malformed arguments: the tool's own schema refuses them before any policy sees them.
  const malformed: Record<string, unknown[]> = {
    search_kb: [
      {},
      { query: "" },
      { query: 5 },
      { query: "x", limit: 0 },
      { query: "x", limit: 2.5 },
      { query: "x", extra: true },
      null,
      ["refunds"],
    ],
    get_order: [
      {},
      { orderId: "1042" },
      { orderId: -1 },
      { orderId: 1.5 },
      { orderId: null },
      { orderId: 1, admin: true },
      "1042",
      1042,
    ],
    issue_refund: [
      { orderId: 1, amount: -5, reason: "x y z" },
      { orderId: 1, amount: "20", reason: "why not" },
      { orderId: 1, reason: "no amount" },
      { orderId: 1, amount: 20, reason: "" },
      { orderId: 1, amount: 20, reason: "ok!", approved: true },
      { orderId: 1, amount: 0, reason: "zero" },
    ],
    send_email: [
      { to: "not-an-address", subject: "s", body: "b" },
      { to: "a@b.co", subject: "", body: "b" },
      { to: "a@b.co", subject: "s" },
      { to: ["a@b.co"], subject: "s", body: "b" },
      { to: "a@b.co", subject: "s", body: "b", bcc: "x@y.z" },
    ],
    create_ticket: [
      { subject: "s", body: "b", priority: "urgent" },
      { subject: "s" },
      { body: "b" },
      {},
      { subject: 1, body: 2 },
    ],
  };
  for (const [tool, list] of Object.entries(malformed)) {
    list.forEach((args, index) => {
      add(
        simple(
          "malformed arguments",
          `${tool}: malformed arguments #${index + 1} ${JSON.stringify(args)}`,
          "invalid_arguments",
          async () => ({
            governor: await governorWith(),
            tool,
            arguments: args,
          }),
        ),
      );
    });
  }
  // Values JSON cannot carry reach the governor only through damaged state; canonical hashing fails, so it denies.
  const unserializable: [string, () => unknown][] = [
    ["a BigInt", () => ({ orderId: 10n })],
    [
      "a cycle",
      () => {
        const value: Record<string, unknown> = { orderId: 1 };
        value.self = value;
        return value;
      },
    ],
    ["a function", () => ({ orderId: () => 1 })],
    ["undefined", () => undefined],
    ["a symbol", () => ({ orderId: Symbol("x") })],
  ];
  for (const [label, value] of unserializable) {
    for (const tool of ["get_order", "issue_refund"]) {
      add(
        simple("malformed arguments", `${tool}: arguments holding ${label}`, undefined, async () => ({
          governor: await governorWith(),
          tool,
          arguments: VALID[tool],
          damage: (state) => {
            const call = state.toolCalls[0];
            if (call) call.arguments = value();
          },
        })),
      );
    }
  }

  // 4. Oversized arguments.
  const oversized: [string, () => unknown][] = [
    ["a 64 KiB + 1 body", () => ({ subject: "s", body: "x".repeat(64 * 1024 + 1) })],
    ["a 1 MiB body", () => ({ subject: "s", body: "x".repeat(1024 * 1024) })],
    [
      "20,000 extra fields",
      () =>
        Object.fromEntries([
          ["subject", "s"],
          ["body", "b"],
          ...Array.from({ length: 20_000 }, (_, i) => [`f${i}`, i]),
        ]),
    ],
    ["a 100,000-item list", () => ({ subject: "s", body: Array.from({ length: 100_000 }, (_, i) => i) })],
    ["multibyte text past the limit", () => ({ subject: "s", body: "€".repeat(22_000) })],
  ];
  for (const [label, value] of oversized) {
    add(
      simple("oversized arguments", `create_ticket: ${label}`, "oversized_arguments", async () => ({
        governor: await governorWith(),
        tool: "create_ticket",
        arguments: value(),
      })),
    );
    add(
      simple("oversized arguments", `send_email: ${label}`, "oversized_arguments", async () => ({
        governor: await governorWith(),
        tool: "send_email",
        arguments: value(),
      })),
    );
  }

  // 5. Missing or malformed session state.
  const principals: [string, unknown][] = [
    ["no principal", undefined],
    ["a principal with an empty subject", { subject: "", tenant: "acme", roles: [] }],
    ["a principal without a tenant", { subject: "ada", roles: [] }],
    ["a principal whose roles are a string", { subject: "ada", tenant: "acme", roles: "admin" }],
    ["a principal whose roles are not text", { subject: "ada", tenant: "acme", roles: [1] }],
    ["a principal that is a string", "ada"],
  ];
  for (const [label, principal] of principals) {
    for (const tool of ["get_order", "issue_refund"]) {
      add(
        simple("missing session state", `${tool}: ${label}`, "invalid_principal", async () => ({
          governor: await governorWith(),
          tool,
          arguments: VALID[tool],
          damage: (state) => {
            state.principal = principal as RunState["principal"];
          },
        })),
      );
    }
  }
  const dataClasses: [string, unknown][] = [
    ["no data classes", undefined],
    ["null data classes", null],
    ["data classes as a string", "pii"],
    ["data classes that are not text", [1, 2]],
    ["data classes as a mapping", { pii: true }],
  ];
  for (const [label, value] of dataClasses) {
    for (const tool of ["send_email", "get_order"]) {
      add(
        simple("missing session state", `${tool}: ${label}`, "missing_session_state", async () => ({
          governor: await governorWith(),
          tool,
          arguments: VALID[tool],
          damage: (state) => {
            state.dataClasses = value as string[];
          },
        })),
      );
    }
  }
  for (const tool of ["get_order", "issue_refund"]) {
    add(
      simple("missing session state", `${tool}: the run has no id`, "missing_session_state", async () => ({
        governor: await governorWith(),
        tool,
        arguments: VALID[tool],
        damage: (state) => {
          state.runId = "";
        },
      })),
      simple(
        "missing session state",
        `${tool}: the agent version is not loaded`,
        "unknown_agent",
        async () => ({
          governor: await governorWith({ version: "0.0.1" }),
          tool,
          arguments: VALID[tool],
        }),
      ),
      simple(
        "missing session state",
        `${tool}: the agent's identity was revoked`,
        "no_identity",
        async () => {
          const governor = await governorWith();
          await governor.identities.revoke(conformanceAgent.name, conformanceAgent.version);
          return { governor, tool, arguments: VALID[tool] };
        },
      ),
    );
  }

  // 6. Zero policies, or none that permits.
  for (const tool of TOOL_NAMES) {
    add(
      simple("zero policies", `${tool}: the agent has no governance section`, "no_policies", async () => ({
        governor: await governorWith({ governance: null }),
        tool,
        arguments: VALID[tool],
      })),
      simple("zero policies", `${tool}: no tool is allowed`, "not_permitted", async () => ({
        governor: await governorWith({
          governance: { allowedTools: [], dataAccess: { allowPii: true, allowFinancial: true } },
        }),
        tool,
        arguments: VALID[tool],
      })),
      simple("zero policies", `${tool}: a team policy forbids everything`, "forbidden", async () => ({
        governor: await governorWith({
          policyFiles: [{ path: "stop.cedar", text: "forbid(principal, action, resource);" }],
        }),
        tool,
        arguments: VALID[tool],
      })),
      simple("zero policies", `${tool}: the user's roles delegate nothing`, "not_permitted", async () => ({
        governor: await governorWith({
          governance: { ...PERMISSIVE, delegation: { roles: { nobody: ["*"] } } },
        }),
        tool,
        arguments: VALID[tool],
      })),
    );
  }

  // 7. The rate-limit store is down or answers nonsense.
  const brokenBuckets: [string, GovernanceStore["takeToken"]][] = [
    ["rejects", () => Promise.reject(new Error("connection refused"))],
    ["rejects with text", () => Promise.reject("ECONNRESET")],
    [
      "throws",
      () => {
        throw new Error("pool is closed");
      },
    ],
    ["answers null", () => Promise.resolve(null as never)],
    ["answers allowed as text", () => Promise.resolve({ allowed: "yes", retryAfterMs: 0 } as never)],
    ["answers nothing", () => Promise.resolve(undefined as never)],
    ["never answers", () => new Promise(() => undefined)],
    ["answers allowed as 1", () => Promise.resolve({ allowed: 1, retryAfterMs: 0 } as never)],
  ];
  for (const [label, takeToken] of brokenBuckets) {
    for (const tool of TOOL_NAMES) {
      add(
        simple(
          "rate-limit store down",
          `${tool}: the bucket store ${label}`,
          "rate_limit_unavailable",
          async () => ({
            governor: await governorWith({
              store: { ...createMemoryGovernanceStore(), takeToken },
              governance: { ...PERMISSIVE, rateLimits: { "*": "100/second" } },
              rateLimitTimeoutMs: 50,
            }),
            tool,
            arguments: VALID[tool],
          }),
        ),
      );
    }
  }

  // 8. Kill switches, and kill switches that cannot be read.
  for (const scope of ["agent", "tenant", "all"] as const) {
    for (const tool of TOOL_NAMES) {
      add(
        simple("kill switch", `${tool}: the ${scope} kill switch is thrown`, "killed", async () => {
          const governor = await governorWith();
          const target = scope === "agent" ? conformanceAgent.name : scope === "tenant" ? "acme" : "*";
          await governor.killSwitch.kill({ scope, target, reason: "conformance", killedBy: "suite" });
          return { governor, tool, arguments: VALID[tool] };
        }),
      );
    }
  }
  for (const tool of TOOL_NAMES) {
    add(
      simple(
        "kill switch",
        `${tool}: the kill switches could not be read`,
        "kill_switch_unavailable",
        async () => {
          const store = {
            ...createMemoryGovernanceStore(),
            listKills: () => Promise.reject(new Error("store down")),
          };
          let now = 0;
          const governor = await governorWith({ store, now: () => now, maxStalenessMs: 1_000 });
          // Started (so staleness counts), every refresh fails, and the clock passes the bound.
          governor.start();
          now = 5_000;
          return { governor, tool, arguments: VALID[tool] };
        },
      ),
    );
  }

  // 9. Tokens the tool must refuse: expired, tampered, issued for something else, revoked.
  type TokenContext = {
    governor: KeelGovernor;
    reissuer: KeelGovernor;
    store: GovernanceStore;
    decision: PolicyDecision & { decision: "allow" };
  };
  const tokenCases: [string, (context: TokenContext) => Promise<string> | string][] = [
    [
      "an expired token",
      async ({ store }) => {
        const past = await governorWith({
          store,
          now: () => Date.now() - 3_600_000,
          governance: { ...PERMISSIVE, capabilityTtl: "1m" },
        });
        const args = VALID.get_order;
        const old = await past.decide(
          {
            kind: "tool-call",
            runId: "run_past",
            agent: { name: conformanceAgent.name, version: conformanceAgent.version },
            principal: { subject: "ada", tenant: "acme", roles: [] },
            tool: { name: "get_order", callId: "c1", arguments: args, argumentsHash: hashPayload(args) },
            dataClasses: [],
          },
          { signal: new AbortController().signal },
        );
        return old.decision === "allow" ? old.capability! : "";
      },
    ],
    [
      "a token with its payload altered",
      ({ decision }) => alterClaims(decision.capability!, { args: "0".repeat(64) }),
    ],
    [
      "a token with its expiry extended",
      ({ decision }) => alterClaims(decision.capability!, { exp: 4_102_444_800 }),
    ],
    [
      "a token with its signature flipped",
      ({ decision }) => {
        const token = decision.capability!;
        const last = token.at(-2) === "A" ? "B" : "A";
        return `${token.slice(0, -2)}${last}${token.at(-1)}`;
      },
    ],
    [
      "a token with no signature",
      ({ decision }) => `${decision.capability!.split(".").slice(0, 2).join(".")}.`,
    ],
    [
      "an unsigned alg=none token",
      ({ decision }) => {
        const [, payload] = decision.capability!.split(".");
        return `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${payload}.`;
      },
    ],
    [
      "an HS256 token keyed with the public key id",
      async ({ decision }) => {
        const claims = JSON.parse(Buffer.from(decision.capability!.split(".")[1]!, "base64url").toString());
        return await new SignJWT(claims)
          .setProtectedHeader({ alg: "HS256", kid: "conformance@1.0.0#x" })
          .sign(new TextEncoder().encode("secret"));
      },
    ],
    [
      "a token signed by a key nobody knows",
      async ({ decision }) => {
        const { generateKeyPairSync } = await import("node:crypto");
        const claims = JSON.parse(Buffer.from(decision.capability!.split(".")[1]!, "base64url").toString());
        return await new SignJWT(claims)
          .setProtectedHeader({ alg: "EdDSA", kid: "stranger#1" })
          .sign(generateKeyPairSync("ed25519").privateKey);
      },
    ],
    ["a token issued to another agent", ({ store, decision }) => impostorToken(store, decision)],
    [
      "a token for another run",
      ({ reissuer, decision }) => reissue(reissuer, decision, { runId: "run_other" }),
    ],
    [
      "a token for another call",
      ({ reissuer, decision }) => reissue(reissuer, decision, { callId: "call_other" }),
    ],
    [
      "a token for another tool",
      ({ reissuer, decision }) => reissue(reissuer, decision, { tool: "send_email" }),
    ],
    [
      "a token for other arguments",
      ({ reissuer, decision }) => reissue(reissuer, decision, { argumentsHash: hashPayload({ orderId: 9 }) }),
    ],
    [
      "a revoked token",
      async ({ governor, decision }) => {
        await governor.revocations.revokeToken(decision.capabilityId!);
        return decision.capability!;
      },
    ],
    [
      "a token of a revoked run",
      async ({ governor, decision }) => {
        await governor.revocations.revokeRun(
          JSON.parse(Buffer.from(decision.capability!.split(".")[1]!, "base64url").toString()).run,
        );
        return decision.capability!;
      },
    ],
    ["a garbage string", () => "not-a-jwt"],
    ["an empty token", () => ""],
  ];
  for (const [label, makeToken] of tokenCases) {
    for (const tool of ["get_order", "issue_refund"]) {
      add({
        category: "capability token",
        name: `${tool}: ${label}`,
        code: "capability_invalid",
        async setup() {
          const store = createMemoryGovernanceStore();
          const governor = await governorWith({ store });
          const reissuer = await governorWith({ store });
          return {
            agent: conformanceAgent,
            tool,
            arguments: VALID[tool],
            governor: withToken(
              governor,
              async (decision) => await makeToken({ governor, reissuer, store, decision }),
            ),
          };
        },
      });
    }
  }

  // 10. Arguments that do not match the hash they were proposed (and journaled) with.
  for (const [label, hash] of [
    ["the hash of other arguments", hashPayload({ orderId: 7 })],
    ["an empty hash", ""],
    ["an upper-case hash", null],
    ["a truncated hash", "abc123"],
    ["a prefixed hash", "sha256:"],
  ] as const) {
    for (const tool of TOOL_NAMES) {
      add(
        simple("arguments hash", `${tool}: ${label}`, "arguments_hash_mismatch", async () => ({
          governor: await governorWith(),
          tool,
          arguments: VALID[tool],
          argumentsHash:
            hash === null
              ? hashPayload(VALID[tool]).toUpperCase()
              : hash === "sha256:"
                ? `sha256:${hashPayload(VALID[tool])}`
                : hash,
        })),
      );
    }
  }
  return cases;
}

/** A genuine token from a second governor on the same keys, but bound to something else. */
async function reissue(
  reissuer: KeelGovernor,
  decision: PolicyDecision & { decision: "allow" },
  change: Partial<{ runId: string; callId: string; tool: string; argumentsHash: string }>,
): Promise<string> {
  const claims = JSON.parse(Buffer.from(decision.capability!.split(".")[1]!, "base64url").toString());
  const tool = change.tool ?? claims.tool;
  const args = VALID[tool];
  const answer = await reissuer.decide(
    {
      kind: "tool-call",
      runId: change.runId ?? claims.run,
      agent: { name: conformanceAgent.name, version: conformanceAgent.version },
      principal: { subject: claims.sub, tenant: claims.ten, roles: claims.roles },
      tool: {
        name: tool,
        callId: change.callId ?? claims.call,
        arguments: args,
        argumentsHash: hashPayload(args),
      },
      dataClasses: [],
    },
    { signal: new AbortController().signal },
  );
  if (answer.decision !== "allow") throw new Error(`could not reissue: ${answer.reasons.join("; ")}`);
  if (!change.argumentsHash) return answer.capability!;
  return alterClaims(answer.capability!, { args: change.argumentsHash });
}

async function impostorToken(
  store: GovernanceStore,
  decision: PolicyDecision & { decision: "allow" },
): Promise<string> {
  const claims = JSON.parse(Buffer.from(decision.capability!.split(".")[1]!, "base64url").toString());
  const impostor = createGovernor({ store });
  await impostor.load({
    name: "impostor",
    version: conformanceAgent.version,
    governance: GovernanceSection.parse(PERMISSIVE),
    tools: governedTools(TOOLS),
    policyFiles: [],
  });
  const args = VALID[claims.tool]!;
  const answer = await impostor.decide(
    {
      kind: "tool-call",
      runId: claims.run,
      agent: { name: "impostor", version: conformanceAgent.version },
      principal: { subject: claims.sub, tenant: claims.ten, roles: claims.roles },
      tool: { name: claims.tool, callId: claims.call, arguments: args, argumentsHash: claims.args },
      dataClasses: [],
    },
    { signal: new AbortController().signal },
  );
  return answer.decision === "allow" ? answer.capability! : "";
}

/** The token with some claims changed and its original signature kept: a tampered token. */
function alterClaims(token: string, change: Record<string, unknown>): string {
  const [header, payload, signature] = token.split(".");
  const claims = { ...JSON.parse(Buffer.from(payload!, "base64url").toString()), ...change };
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${signature}`;
}
