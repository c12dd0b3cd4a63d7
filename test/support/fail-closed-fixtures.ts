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

export const TOOLS: Tool[] = [
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
export const VALID: Record<string, unknown> = {
  search_kb: { query: "refunds", limit: 3 },
  get_order: { orderId: 1042 },
  issue_refund: { orderId: 1042, amount: 20, reason: "broken mug" },
  send_email: { to: "ada@example.com", subject: "Hello", body: "Your order shipped." },
  create_ticket: { subject: "Call back", body: "The customer wants a call." },
};
export const TOOL_NAMES = Object.keys(VALID);

/** Governance under which every valid call above is allowed: the baseline each case breaks one thing of. */
export const PERMISSIVE: GovernanceSectionInput = {
  allowedTools: TOOL_NAMES,
  decisionAuthority: { autonomous: TOOL_NAMES },
  dataAccess: { allowPii: true, allowFinancial: true, maxRecordsPerQuery: 10 },
};

export const conformanceAgent = scriptedAgent({ name: "conformance", turns: [], tools: TOOLS });

export async function governorWith(
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

export const simple = (
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
export function withToken(
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
export function quarantine(tool: string): { path: string; text: string } {
  return {
    path: "quarantine.cedar",
    text: `forbid(principal, action == Keel::Action::"tool:${tool}", resource) when { context.session.dataClasses.contains("quarantined") };`,
  };
}

export function engineFailure(
  kind: "throws" | "throws-text" | "errors" | "undecided" | "undefined",
): PolicyEngine {
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

/** A genuine token from a second governor on the same keys, but bound to something else. */
export async function reissue(
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

export async function impostorToken(
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
export function alterClaims(token: string, change: Record<string, unknown>): string {
  const [header, payload, signature] = token.split(".");
  const claims = { ...JSON.parse(Buffer.from(payload!, "base64url").toString()), ...change };
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${signature}`;
}
