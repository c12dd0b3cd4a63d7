import { z } from "zod";
import { checkGovernanceTools, GovernanceSection } from "./governance-section.ts";

const DURATION_PATTERN = /^(\d+)(ms|s|m|h)$/;
const DURATION_UNITS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
const DURATION_HINT = "expected a duration such as 500ms, 15s, 2m or 1h, or a whole number of milliseconds";

/** A duration written as `15s`, `2m`, `1h` or a number of milliseconds; parsed to milliseconds. */
export const Duration = z
  .union(
    [
      z.number().int().positive().describe("Milliseconds."),
      z
        .string()
        .regex(DURATION_PATTERN, DURATION_HINT)
        .transform((text) => {
          const match = DURATION_PATTERN.exec(text)!;
          return Number(match[1]) * DURATION_UNITS[match[2] as keyof typeof DURATION_UNITS];
        }),
    ],
    { error: DURATION_HINT },
  )
  .meta({ title: "Duration", description: "A duration such as 500ms, 15s, 2m or 1h, or milliseconds." });

const SemVer = z
  .string({
    error: (issue) =>
      issue.input === undefined ? undefined : "expected a semantic version such as 1.4.0 (quote it in YAML)",
  })
  .regex(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/, "expected a semantic version such as 1.4.0 (quote it in YAML)");
const AgentName = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{1,62}$/,
    "expected 2 to 63 lowercase letters, digits and dashes, starting with a letter",
  );

/** Which model an agent uses. `rules` and `scripted` are the offline stand-ins. */
export const ModelSection = z
  .strictObject({
    provider: z
      .string()
      .min(1)
      .describe("Model provider as the gateway knows it: anthropic, openai, google, rules, scripted, …"),
    id: z
      .string()
      .min(1)
      .describe(
        "The pinned model id (a dated snapshot such as claude-sonnet-4-5-20250929, never a floating alias).",
      ),
    params: z
      .strictObject({
        temperature: z.number().min(0).max(2).optional().describe("Sampling temperature, 0 to 2."),
        maxOutputTokens: z
          .number()
          .int()
          .positive()
          .optional()
          .describe("Upper bound on tokens per model turn."),
        topP: z.number().min(0).max(1).optional().describe("Nucleus sampling mass, 0 to 1."),
      })
      .default({})
      .describe("Sampling parameters passed to the provider."),
    offline: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Path (relative to this spec) of the `rules` decision table used when no provider key is configured.",
      ),
  })
  .describe("The model the agent calls, through the gateway.");

/** How far one run may go before it is stopped. */
export const LimitsSection = z
  .strictObject({
    maxSteps: z
      .number()
      .int()
      .positive()
      .max(1_000)
      .default(12)
      .describe("Most model turns one run may take before it ends as max_steps_exceeded."),
    runTimeout: Duration.prefault("120s").describe("Wall-clock limit for one run (default 120s)."),
    toolTimeout: Duration.prefault("15s").describe("Limit for one tool call (default 15s)."),
  })
  .describe("Limits on one run; durations are parsed to milliseconds.");

const OpenSection = (description: string) =>
  z.record(z.string(), z.unknown()).optional().describe(description);

/** The agent spec: one YAML file per agent version. Sections added by later capabilities are kept open. */
export const AgentSpec = z
  .strictObject({
    apiVersion: z.literal("keel/v1").describe("Format version of this file: keel/v1."),
    kind: z.literal("Agent").describe("What this file declares: Agent."),
    name: AgentName.describe(
      "Unique agent name: lowercase letters, digits and dashes, starting with a letter.",
    ),
    version: SemVer.describe("Semantic version of this agent, such as 1.4.0."),
    description: z.string().min(1).describe("What the agent is for, in a sentence."),
    owner: z
      .strictObject({
        team: z.string().min(1).describe("Owning team."),
        person: z.string().min(1).optional().describe("Person to contact, usually an email address."),
      })
      .describe("Who answers for this agent."),
    riskTier: z
      .literal([1, 2, 3], {
        error: "expected 1 (highest risk: customer-facing, money, regulated data), 2 or 3",
      })
      .describe("1 = highest risk (customer-facing, money, regulated data), 3 = lowest."),
    prompt: z
      .string()
      .min(1)
      .describe(
        "Path (relative to this spec) of the system prompt file; its text is part of the version hash.",
      ),
    model: ModelSection,
    tools: z
      .array(z.string().min(1))
      .default([])
      .describe("Names of the tools the agent may call; each must be registered with the runtime."),
    limits: LimitsSection.prefault({}),
    budgets: OpenSection("Spending caps per run and per period (read by the gateway)."),
    governance: GovernanceSection.optional(),
    approvals: OpenSection("Where risky actions go for human review, with SLA and timeout behaviour."),
    guards: OpenSection("Prompt-injection and redaction guards on inputs, tool results and outputs."),
    evals: OpenSection("Eval datasets and the gate a new version must pass."),
    rollout: OpenSection("How a new version reaches traffic (canary steps and gates)."),
  })
  .superRefine((spec, context) => {
    if (!spec.governance) return;
    for (const issue of checkGovernanceTools(spec.governance, spec.tools)) {
      context.addIssue({
        code: "custom",
        path: ["governance", ...issue.path],
        message: issue.message,
        input: spec,
      });
    }
  })
  .meta({
    title: "Keel agent spec",
    description:
      "One Keel agent version: prompt, model, tools, limits and governance. See docs/ for each section.",
  });

export type AgentSpecInput = z.input<typeof AgentSpec>;
export type AgentSpec = z.output<typeof AgentSpec>;
