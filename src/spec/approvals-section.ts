import { z } from "zod";

const SLA_PATTERN = /^(\d+)(s|m|h|d)$/;
const SLA_UNITS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const SLA_HINT = "expected a duration such as 30m, 4h or 2d, or a whole number of milliseconds";

/** How long a request may wait for a person: `30m`, `4h`, `2d`, or milliseconds. */
const SlaDuration = z
  .union(
    [
      z.number().int().positive(),
      z
        .string()
        .regex(SLA_PATTERN, SLA_HINT)
        .transform((text) => {
          const match = SLA_PATTERN.exec(text)!;
          return Number(match[1]) * SLA_UNITS[match[2] as keyof typeof SLA_UNITS];
        }),
    ],
    { error: SLA_HINT },
  )
  .describe("A duration such as 30m, 4h or 2d, or milliseconds.");

const Team = z.string().min(1).max(100).describe("A team's queue, such as support-leads.");
const Priority = z.enum(["low", "normal", "high", "urgent"]);
const ToolName = z.string().min(1);

/** What makes a run hand itself to a person instead of carrying on (confidence-based escalation). */
export const EscalateWhen = z
  .strictObject({
    lowConfidence: z
      .union([z.boolean(), z.string().min(1)])
      .optional()
      .describe(
        "true, or a regular expression: an answer in which the model says it is unsure (by default " +
          '"not sure", "I don\'t know", "unsure", "cannot determine", "low confidence") goes to a person instead.',
      ),
    toolFailures: z
      .number()
      .int()
      .positive()
      .optional()
      .describe("Hand off after this many tool calls in a row have failed."),
    invalidOutput: z
      .number()
      .int()
      .positive()
      .optional()
      .describe(
        "Hand off after this many tool calls in a row were refused for arguments that fail their schema.",
      ),
    budgetRemaining: z
      .number()
      .gt(0)
      .lt(1)
      .optional()
      .describe(
        "Hand off when less than this share of the run's budget (budgets.perRun.usd) is left, e.g. 0.1.",
      ),
    stepsRemaining: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe("Hand off when only this many model turns are left (0: instead of failing at the last)."),
  })
  .describe("When a run hands off to a person with its full context.");
export type EscalateWhen = z.output<typeof EscalateWhen>;

/** The `approvals` section: where held actions and handoffs go, who may decide, and how long they may wait. */
export const ApprovalsSection = z
  .strictObject({
    routeTo: Team.optional().describe("The queue requests go to (default: the owning team)."),
    routes: z
      .array(
        z.strictObject({
          tool: ToolName.describe("Requests about this tool…"),
          to: Team.describe("…go to this queue."),
          priority: Priority.optional().describe("…with this priority."),
        }),
      )
      .default([])
      .describe("Per-tool routing; the first entry for the tool wins."),
    priority: Priority.default("normal").describe("Priority of requests no route sets."),
    sla: SlaDuration.prefault("4h").describe("How long a request waits before it times out (default 4h)."),
    onTimeout: z
      .enum(["deny", "escalate"])
      .default("deny")
      .describe(
        "deny: the held action is refused; escalate: the request moves to escalateTo, urgent, with a new SLA.",
      ),
    escalateTo: Team.optional().describe("The queue a timed-out request escalates to."),
    approverRoles: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        "Roles that may decide (default: approver:<agent> or approver:<team of the queue>). The requester never may.",
      ),
    twoPersonRule: z
      .union([z.boolean(), z.array(ToolName).min(1)])
      .optional()
      .describe(
        "Two distinct approvers: true for every request, or a list of tools. Risk-tier-1 agents always need two.",
      ),
    drafts: z
      .array(ToolName)
      .default([])
      .describe("Outbound tools whose calls are drafts a person edits and sends (draft-and-review)."),
    escalateWhen: EscalateWhen.optional(),
    handoffTo: Team.optional().describe("The queue runs hand off to (default: routeTo)."),
  })
  .superRefine((section, context) => {
    if (section.onTimeout === "escalate" && section.escalateTo === undefined) {
      context.addIssue({
        code: "custom",
        path: ["escalateTo"],
        message: "onTimeout: escalate needs escalateTo (the queue to escalate to)",
        input: section,
      });
    }
  })
  .describe("Human review: routing, SLA, timeouts, separation of duties, drafts and handoffs.");

export type ApprovalsSectionInput = z.input<typeof ApprovalsSection>;
export type ApprovalsSection = z.output<typeof ApprovalsSection>;

/** Tools the section names that the agent does not have. */
export function checkApprovalsTools(
  section: ApprovalsSection,
  tools: readonly string[],
): { path: (string | number)[]; message: string }[] {
  const known = new Set(tools);
  const issues: { path: (string | number)[]; message: string }[] = [];
  section.routes.forEach((route, index) => {
    if (!known.has(route.tool))
      issues.push({
        path: ["routes", index, "tool"],
        message: `${route.tool} is not one of the agent's tools`,
      });
  });
  section.drafts.forEach((tool, index) => {
    if (!known.has(tool))
      issues.push({ path: ["drafts", index], message: `${tool} is not one of the agent's tools` });
  });
  if (Array.isArray(section.twoPersonRule)) {
    section.twoPersonRule.forEach((tool, index) => {
      if (!known.has(tool))
        issues.push({ path: ["twoPersonRule", index], message: `${tool} is not one of the agent's tools` });
    });
  }
  return issues;
}
