import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import { generateCedarSchema } from "./cedar-schema.ts";
import { compileAgentPolicies } from "./compile-agent-policies.ts";
import type { GovernedAgent } from "./governed-agent.ts";

/** One problem a policy has against the agent's schema. */
export type PolicyIssue = { policy: string; source: string; message: string; help?: string };

/** What `keel policy validate` reports for one agent version. */
export type PolicyValidation = {
  agent: string;
  policies: number;
  shadowPolicies: number;
  issues: PolicyIssue[];
};

/**
 * Check every policy of an agent version — compiled from its spec and its team's Cedar files, shadow ones too —
 * against the Cedar schema generated from its tools' JSON Schemas (strict mode). Compilation problems (a Cedar
 * file that does not parse, `@review` on a permit) are reported as issues too; this never throws.
 */
export function validateAgentPolicies(agent: GovernedAgent): PolicyValidation {
  const label = `${agent.name}@${agent.version}`;
  let compiled: ReturnType<typeof compileAgentPolicies>;
  try {
    compiled = compileAgentPolicies(agent);
  } catch (error) {
    return {
      agent: label,
      policies: 0,
      shadowPolicies: 0,
      issues: [
        {
          policy: "(compile)",
          source: "governance",
          message: error instanceof Error ? error.message : String(error),
        },
      ],
    };
  }
  const infos = [...compiled.info.values()];
  const result: PolicyValidation = {
    agent: label,
    policies: infos.filter((info) => info.mode === "enforce").length,
    shadowPolicies: infos.filter((info) => info.mode === "shadow").length,
    issues: [],
  };
  if (infos.length === 0) {
    result.issues.push({
      policy: "(none)",
      source: "governance",
      message: "the agent has no policies, so every action it tries is denied (add a governance section)",
    });
    return result;
  }
  const answer = cedar.validate({
    schema: generateCedarSchema(agent.tools),
    policies: { staticPolicies: compiled.texts },
    validationSettings: { mode: "strict" },
  });
  if (answer.type === "failure") {
    result.issues.push(
      ...answer.errors.map((error) => ({ policy: "(schema)", source: "schema", message: error.message })),
    );
    return result;
  }
  for (const { policyId, error } of answer.validationErrors) {
    result.issues.push({
      policy: policyId,
      source: compiled.info.get(policyId)?.source ?? policyId,
      message: error.message,
      ...(error.help ? { help: error.help } : {}),
    });
  }
  return result;
}
