import { z } from "zod";
import { parseYamlSource } from "./parse-yaml-source.ts";
import type { SpecIssue } from "./spec-error.ts";
import { validateYamlSource } from "./validate-yaml-source.ts";

/** One row of a policy test table: an action, who asks, what the run has read, and the decision expected. */
export const PolicyTestCase = z
  .strictObject({
    name: z.string().min(1).describe("What the row checks, as a sentence."),
    tool: z.string().min(1).describe("The tool the agent calls."),
    input: z.unknown().default({}).describe("The call's arguments, as the model would send them."),
    user: z
      .strictObject({
        subject: z.string().min(1).default("policy-test").describe("The user's id."),
        tenant: z.string().min(1).default("default").describe("The user's tenant."),
        roles: z.array(z.string()).default([]).describe("The user's roles."),
      })
      .prefault({})
      .describe("Who the run acts for (default: subject policy-test, tenant default, no roles)."),
    session: z
      .strictObject({
        dataClasses: z.array(z.string()).default([]).describe("Classes of data the run has read (pii, …)."),
      })
      .prefault({})
      .describe("What the run has read so far, e.g. {dataClasses: [pii]}."),
    expect: z.enum(["allow", "review", "deny"]).describe("The decision the policies must reach."),
    code: z
      .string()
      .optional()
      .describe("For deny: the code expected (forbidden, not_permitted, invalid_arguments, …)."),
    policies: z
      .array(z.string())
      .optional()
      .describe("The determining policies expected, exactly (in any order)."),
    reason: z.string().optional().describe("Text one of the decision's reasons must contain."),
  })
  .describe("One policy test.");
export type PolicyTestCase = z.output<typeof PolicyTestCase>;

/** A table-driven policy test file (`kind: PolicyTests`), written by the team that owns the agent. */
export const PolicyTests = z
  .strictObject({
    apiVersion: z.literal("keel/v1").describe("Format version of this file: keel/v1."),
    kind: z.literal("PolicyTests").describe("What this file declares: PolicyTests."),
    agent: z.string().min(1).describe("The agent's name."),
    version: z.string().optional().describe("The agent version (default: the one loaded)."),
    tests: z.array(PolicyTestCase).min(1).describe("The rows: each an action and the decision expected."),
  })
  .meta({
    title: "Keel policy tests",
    description: "Table-driven tests of an agent's policies, run by keel policy test.",
  });
export type PolicyTests = z.output<typeof PolicyTests>;

/** Parse and validate a policy test file, with file:line:column issues. */
export function parsePolicyTests(
  file: string,
  text: string,
): { tests: PolicyTests | null; issues: SpecIssue[] } {
  const source = parseYamlSource(file, text);
  if (source.issues.length > 0) return { tests: null, issues: source.issues };
  const { value, issues } = validateYamlSource(source, PolicyTests);
  return { tests: value ?? null, issues };
}
