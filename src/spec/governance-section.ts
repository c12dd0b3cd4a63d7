import { z } from "zod";
import { parseToolCondition } from "./tool-condition.ts";

const ToolName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/, "expected a tool name (letters, digits, _ . -)");

/** A `when` condition such as `input.amount > 100`, checked when the spec loads. */
export const ToolConditionText = z
  .string()
  .min(1)
  .superRefine((text, context) => {
    const parsed = parseToolCondition(text);
    if (!parsed.ok) {
      context.addIssue({
        code: "custom",
        message: `invalid condition at column ${parsed.column}: ${parsed.message}`,
        input: text,
      });
    }
  })
  .describe(
    "A condition on the tool's arguments: comparisons of input.<field> with a number, 'text', true or false " +
      '(> >= < <= == !=), joined with && and ||. Numbers in text ("96.00") compare as numbers.',
  );

/** One entry of a decision-authority tier: a tool, or a tool under a condition on its arguments. */
export const ToolRule = z
  .union([
    ToolName,
    z.strictObject({
      tool: ToolName.describe("The tool this entry applies to."),
      when: ToolConditionText.optional(),
      reason: z.string().min(1).optional().describe("Said in the decision's reasons when the entry applies."),
    }),
  ])
  .describe("A tool name, or {tool, when, reason} to apply only when the condition on its arguments holds.");
export type ToolRule = z.infer<typeof ToolRule>;

const RATE_PATTERN = /^(\d+)\s*\/\s*(second|s|minute|min|m|hour|h|day|d)$/;
const RATE_UNITS: Record<string, number> = {
  second: 1_000,
  s: 1_000,
  minute: 60_000,
  min: 60_000,
  m: 60_000,
  hour: 3_600_000,
  h: 3_600_000,
  day: 86_400_000,
  d: 86_400_000,
};
const RATE_HINT = "expected a rate such as 5/hour, 30/minute, 10/second or 100/day";

/** Whose calls share one token bucket. */
export const RateLimitKey = z.enum(["agent", "tool", "tenant", "user"]);
export type RateLimitKey = z.infer<typeof RateLimitKey>;

const RateText = z
  .string()
  .regex(RATE_PATTERN, RATE_HINT)
  .transform((text) => {
    const match = RATE_PATTERN.exec(text)!;
    return { limit: Number(match[1]), intervalMs: RATE_UNITS[match[2]!]! };
  });

/** A rate limit: `5/hour`, or `{rate, burst, per}`; parsed to a token bucket. */
export const RateLimit = z
  .union([
    RateText,
    z.strictObject({
      rate: RateText.describe("Calls per period, such as 5/hour."),
      burst: z.number().int().positive().optional().describe("Bucket size (default: the rate's count)."),
      per: z
        .array(RateLimitKey)
        .min(1)
        .optional()
        .describe("What one bucket counts: agent, tool, tenant and user (default all four)."),
    }),
  ])
  .transform((value) => {
    const rate = "rate" in value ? value.rate : value;
    const per = "rate" in value && value.per ? value.per : RateLimitKey.options;
    const burst = "rate" in value && value.burst !== undefined ? value.burst : rate.limit;
    return { limit: rate.limit, intervalMs: rate.intervalMs, burst, per: [...new Set(per)] };
  })
  .describe("A token bucket: 5/hour, or {rate: 5/hour, burst: 2, per: [tenant, user]}.");
export type RateLimit = z.output<typeof RateLimit>;

/** Whether a set of policies decides (`enforce`) or is only evaluated and logged (`shadow`). */
export const PolicyMode = z.enum(["enforce", "shadow"]);
export type PolicyMode = z.infer<typeof PolicyMode>;

const PolicySource = z
  .union([
    z.string().min(1),
    z.strictObject({
      path: z.string().min(1).describe("A .cedar file or a glob such as ./policies/*.cedar."),
      mode: PolicyMode.optional().describe("enforce, or shadow to evaluate and log without deciding."),
    }),
  ])
  .describe("Team Cedar files relative to the spec: a path or glob, or {path, mode}.");

const CAPABILITY_TTL_LIMIT_MS = 15 * 60_000;

/**
 * The governance section: which tools the agent may call and under what authority, what data it may touch, how
 * often, and the team's own Cedar policies. The governor compiles it to Cedar; absent, nothing is permitted.
 */
export const GovernanceSection = z
  .strictObject({
    allowedTools: z
      .array(ToolName)
      .default([])
      .describe("Tools the agent may call at all; any other tool call is denied. Default: none."),
    decisionAuthority: z
      .strictObject({
        autonomous: z
          .array(ToolRule)
          .default([])
          .describe("Calls that run without a person (with `when`: only when it holds, otherwise review)."),
        requiresHumanReview: z
          .array(ToolRule)
          .default([])
          .describe("Calls held for human review (with `when`: only when it holds)."),
        forbidden: z
          .array(ToolRule)
          .default([])
          .describe("Calls never made (with `when`: only when it holds). Forbid wins over everything."),
      })
      .prefault({})
      .describe(
        "Authority tiers. An allowed tool not listed in any tier needs review; forbid wins, then review, then autonomous.",
      ),
    allowedAgents: z
      .array(
        z
          .string()
          .regex(/^[a-z][a-z0-9-]{1,62}$/, "expected an agent name (lowercase letters, digits and dashes)"),
      )
      .optional()
      .describe(
        "Agents work may be handed to (a workflow's handoff to an agent, decided as a delegation); any other is denied. Default: none.",
      ),
    dataAccess: z
      .strictObject({
        allowPii: z
          .boolean()
          .default(false)
          .describe("May the agent call tools that return personal data (class pii)?"),
        allowFinancial: z
          .boolean()
          .default(false)
          .describe("May the agent call tools that touch financial data (class financial)?"),
        maxRecordsPerQuery: z
          .number()
          .int()
          .positive()
          .optional()
          .describe("Most records one tool call may ask for (the tool names the argument that counts them)."),
      })
      .prefault({})
      .describe("Data classes the agent may touch."),
    rateLimits: z
      .record(z.union([ToolName, z.literal("*")]), RateLimit)
      .default({})
      .describe("Token buckets per tool (or * for every tool), per agent, tool, tenant and user by default."),
    delegation: z
      .strictObject({
        roles: z
          .record(z.string().min(1), z.array(z.union([ToolName, z.literal("*")])))
          .describe("Per role of the requesting user, the tools the agent may call for them (* = all)."),
      })
      .optional()
      .describe(
        "What the requesting user must hold for the agent to act for them. Absent: any user may delegate the " +
          "agent's authority. The effective permission is the agent's intersected with the user's.",
      ),
    policies: z
      .array(PolicySource)
      .default([])
      .describe("The team's own Cedar policy files, relative to this spec (globs allowed)."),
    mode: PolicyMode.default("enforce").describe(
      "Default mode of the team's policy files: enforce, or shadow (evaluated and logged, never deciding).",
    ),
    autonomy: z
      .strictObject({
        threshold: z
          .number()
          .gt(0)
          .lt(1)
          .default(0.95)
          .describe(
            "Propose a class of held calls as autonomous when the lower bound of its approved-unchanged rate reaches this (default 0.95).",
          ),
        minDecisions: z
          .number()
          .int()
          .positive()
          .default(50)
          .describe("Decided requests a class needs before any proposal (default 50)."),
        confidence: z
          .number()
          .gt(0.5)
          .lt(1)
          .default(0.95)
          .describe("Confidence of the Wilson interval of the approved-unchanged rate (default 0.95)."),
      })
      .prefault({})
      .describe(
        "When Keel proposes moving held calls to autonomous, or back to review, from their approval history (never applied on its own).",
      ),
    capabilityTtl: z
      .union([z.number().int().positive(), z.string().regex(/^(\d+)(ms|s|m)$/, "expected 90s, 5m or ms")])
      .transform((value) => {
        if (typeof value === "number") return value;
        const match = /^(\d+)(ms|s|m)$/.exec(value)!;
        return Number(match[1]) * (match[2] === "ms" ? 1 : match[2] === "s" ? 1_000 : 60_000);
      })
      .pipe(z.number().max(CAPABILITY_TTL_LIMIT_MS, "a capability token lives at most 15m"))
      .default(300_000)
      .describe("Lifetime of the capability token issued per tool call (default 5m, at most 15m)."),
  })
  .describe("Allowed tools, decision authority, data access, rate limits, delegation and Cedar policies.");

export type GovernanceSectionInput = z.input<typeof GovernanceSection>;
export type GovernanceSection = z.output<typeof GovernanceSection>;

/** The tool named by a tier entry. */
export function ruleTool(rule: ToolRule): string {
  return typeof rule === "string" ? rule : rule.tool;
}

/**
 * Cross-field checks: every tool named in governance must be one of the agent's `tools` (for a workflow: the tools
 * its nodes call, named by `toolsName`), and tiers may name only allowed tools. Issues carry paths so the loader can place them at a line.
 */
export function checkGovernanceTools(
  governance: GovernanceSection,
  tools: readonly string[],
  toolsName = "the agent's tools",
): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const known = new Set(tools);
  const allowed = new Set(governance.allowedTools);
  governance.allowedTools.forEach((tool, index) => {
    if (!known.has(tool))
      issues.push({ path: ["allowedTools", index], message: `"${tool}" is not one of ${toolsName}` });
  });
  for (const tier of ["autonomous", "requiresHumanReview"] as const) {
    governance.decisionAuthority[tier].forEach((rule, index) => {
      const tool = ruleTool(rule);
      if (!allowed.has(tool)) {
        issues.push({
          path: ["decisionAuthority", tier, index],
          message: `"${tool}" is not in allowedTools, so it is never permitted`,
        });
      }
    });
  }
  for (const [tool] of Object.entries(governance.rateLimits)) {
    if (tool !== "*" && !known.has(tool))
      issues.push({ path: ["rateLimits", tool], message: `"${tool}" is not one of ${toolsName}` });
  }
  for (const [role, roleTools] of Object.entries(governance.delegation?.roles ?? {})) {
    roleTools.forEach((tool, index) => {
      if (tool !== "*" && !known.has(tool))
        issues.push({
          path: ["delegation", "roles", role, index],
          message: `"${tool}" is not one of ${toolsName}`,
        });
    });
  }
  return issues;
}
