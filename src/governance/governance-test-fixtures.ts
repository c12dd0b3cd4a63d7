import { z } from "zod";
import type { Principal } from "../journal/index.ts";
import { hashPayload } from "../journal/index.ts";
import { GovernanceSection, type GovernanceSectionInput } from "../spec/index.ts";
import type { GovernedAgent, GovernedPolicyFile, GovernedTool } from "./governed-agent.ts";
import type { ActionRequest } from "./governor.ts";

/** A governed tool from a zod schema, for tests and benchmarks. */
export function fixtureTool(options: {
  name: string;
  input?: z.ZodType;
  dataClasses?: string[];
  sendsDataOutside?: boolean;
  sideEffect?: boolean;
  recordLimitArgument?: string;
}): GovernedTool {
  const input = options.input ?? z.object({}).passthrough();
  const schema = z.toJSONSchema(input, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  return {
    name: options.name,
    inputSchema: schema,
    dataClasses: options.dataClasses ?? [],
    sendsDataOutside: options.sendsDataOutside ?? false,
    sideEffect: options.sideEffect ?? false,
    ...(options.recordLimitArgument === undefined
      ? {}
      : { recordLimitArgument: options.recordLimitArgument }),
    checkArguments(args) {
      const parsed = input.safeParse(args);
      return parsed.success
        ? { ok: true, value: parsed.data }
        : {
            ok: false,
            message: parsed.error.issues
              .map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`)
              .join("; "),
          };
    },
  };
}

/** The support-shaped tools most governor tests use. */
export function fixtureTools(): GovernedTool[] {
  return [
    fixtureTool({
      name: "search_kb",
      input: z.object({ query: z.string(), limit: z.number().int().default(3) }),
      dataClasses: ["public"],
      recordLimitArgument: "limit",
    }),
    fixtureTool({
      name: "get_order",
      input: z.object({ orderId: z.union([z.number(), z.string()]) }),
      dataClasses: ["internal", "pii"],
    }),
    fixtureTool({
      name: "issue_refund",
      input: z.object({
        orderId: z.union([z.number(), z.string()]),
        amount: z.union([z.number(), z.string()]),
        reason: z.string(),
      }),
      dataClasses: ["financial"],
      sideEffect: true,
    }),
    fixtureTool({
      name: "send_email",
      input: z.object({ to: z.string(), subject: z.string(), body: z.string() }),
      sendsDataOutside: true,
      sideEffect: true,
    }),
    fixtureTool({
      name: "create_ticket",
      input: z.object({ subject: z.string(), body: z.string() }),
      sideEffect: true,
    }),
  ];
}

/** The support agent's governance, as the issue describes it. */
export const SUPPORT_GOVERNANCE: GovernanceSectionInput = {
  allowedTools: ["search_kb", "get_order", "issue_refund", "send_email", "create_ticket"],
  decisionAuthority: {
    autonomous: ["search_kb", "get_order", "create_ticket"],
    requiresHumanReview: ["send_email", { tool: "issue_refund", when: "input.amount > 100" }],
    forbidden: [
      { tool: "issue_refund", when: "input.amount > 500", reason: "refunds above 500 go to finance" },
    ],
  },
  dataAccess: { allowPii: true, allowFinancial: true, maxRecordsPerQuery: 5 },
};

/** A governed agent for tests. */
export function fixtureAgent(
  options: {
    name?: string;
    version?: string;
    governance?: GovernanceSectionInput | null;
    tools?: GovernedTool[];
    policyFiles?: GovernedPolicyFile[];
  } = {},
): GovernedAgent {
  return {
    name: options.name ?? "support",
    version: options.version ?? "1.0.0",
    governance:
      options.governance === null
        ? undefined
        : GovernanceSection.parse(options.governance ?? SUPPORT_GOVERNANCE),
    tools: options.tools ?? fixtureTools(),
    policyFiles: options.policyFiles ?? [],
  };
}

export const FIXTURE_PRINCIPAL: Principal = {
  subject: "ada@example.com",
  tenant: "acme",
  roles: ["customer"],
};

/** A tool-call request with a correct argument hash. */
export function toolRequest(
  tool: string,
  args: unknown,
  options: {
    agent?: string;
    version?: string;
    principal?: Principal;
    dataClasses?: string[];
    runId?: string;
    callId?: string;
  } = {},
): ActionRequest {
  return {
    kind: "tool-call",
    runId: options.runId ?? "run_test",
    agent: { name: options.agent ?? "support", version: options.version ?? "1.0.0" },
    principal: options.principal ?? FIXTURE_PRINCIPAL,
    tool: {
      name: tool,
      callId: options.callId ?? "call_1",
      arguments: args,
      argumentsHash: hashPayload(args),
    },
    dataClasses: options.dataClasses ?? [],
  };
}
