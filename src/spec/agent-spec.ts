import { z } from "zod";

/** A duration written as `15s`, `2m`, `1h` or a number of milliseconds; parsed to milliseconds. */
export const Duration = z.union([
  z.number().int().positive(),
  z
    .string()
    .regex(/^\d+(ms|s|m|h)$/, "expected a duration such as 500ms, 15s, 2m or 1h")
    .transform((text) => {
      const match = /^(\d+)(ms|s|m|h)$/.exec(text)!;
      const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] as "ms" | "s" | "m" | "h"];
      return Number(match[1]) * unit;
    }),
]);

const SemVer = z
  .string()
  .regex(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/, "expected a semantic version such as 1.4.0");
const AgentName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,62}$/, "expected lowercase letters, digits and dashes, starting with a letter");

/** Which model an agent uses. `rules` and `scripted` are the offline stand-ins. */
export const ModelSection = z.strictObject({
  provider: z.string().min(1),
  id: z.string().min(1),
  params: z
    .strictObject({
      temperature: z.number().min(0).max(2).optional(),
      maxOutputTokens: z.number().int().positive().optional(),
      topP: z.number().min(0).max(1).optional(),
    })
    .default({}),
  /** Path (relative to the spec file) of the `rules` decision table used when no key is configured. */
  offline: z.string().optional(),
});

export const LimitsSection = z.strictObject({
  maxSteps: z.number().int().positive().max(1_000).default(12),
  runTimeout: Duration.default(120_000),
  toolTimeout: Duration.default(15_000),
});

/** The agent spec: one YAML file per agent version. Sections added by later capabilities are kept open. */
export const AgentSpec = z.strictObject({
  apiVersion: z.literal("keel/v1"),
  kind: z.literal("Agent"),
  name: AgentName,
  version: SemVer,
  description: z.string().min(1),
  owner: z.strictObject({ team: z.string().min(1), person: z.string().min(1).optional() }),
  riskTier: z.union([z.literal(1), z.literal(2), z.literal(3)]),
  prompt: z.string().min(1),
  model: ModelSection,
  tools: z.array(z.string().min(1)).default([]),
  limits: LimitsSection.default({ maxSteps: 12, runTimeout: 120_000, toolTimeout: 15_000 }),
  budgets: z.record(z.string(), z.unknown()).optional(),
  governance: z.record(z.string(), z.unknown()).optional(),
  approvals: z.record(z.string(), z.unknown()).optional(),
  guards: z.record(z.string(), z.unknown()).optional(),
  evals: z.record(z.string(), z.unknown()).optional(),
  rollout: z.record(z.string(), z.unknown()).optional(),
});

export type AgentSpecInput = z.input<typeof AgentSpec>;
export type AgentSpec = z.output<typeof AgentSpec>;
