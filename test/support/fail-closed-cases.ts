/**
 * The fail-closed conformance table (ARCHITECTURE.md invariant 2): every way the governor can fail or be fed
 * something it cannot trust, each of which must end in a deny that is journaled. The runner is
 * test/governor-conformance.test.ts; the shared agent and builders are in fail-closed-fixtures.ts.
 */
import { createGovernor } from "../../src/governance/create-governor.ts";
import type { GovernanceStore } from "../../src/governance/governance-store.ts";
import { createMemoryGovernanceStore } from "../../src/governance/memory-governance-store.ts";
import type { PolicyEngine } from "../../src/governance/policy-engine.ts";
import { hashPayload } from "../../src/journal/hash.ts";
import { governedTools } from "../../src/runtime/governed-tools.ts";
import type { RunState } from "../../src/runtime/run-state.ts";
import { GovernanceSection } from "../../src/spec/governance-section.ts";
import {
  conformanceAgent,
  engineFailure,
  type FailClosedCase,
  governorWith,
  PERMISSIVE,
  quarantine,
  simple,
  TOOL_NAMES,
  TOOLS,
  VALID,
} from "./fail-closed-fixtures.ts";
import { tokenCases } from "./fail-closed-token-cases.ts";

export { conformanceAgent, executions, type FailClosedCase } from "./fail-closed-fixtures.ts";

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

  add(...tokenCases());

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
