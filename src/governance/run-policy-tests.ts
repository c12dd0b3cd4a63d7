import { hashPayload } from "../journal/index.ts";
import type { PolicyTestCase, PolicyTests } from "../spec/index.ts";
import { createGovernor } from "./create-governor.ts";
import type { GovernedAgent } from "./governed-agent.ts";
import { createMemoryGovernanceStore } from "./memory-governance-store.ts";

/** The outcome of one policy test row. */
export type PolicyTestResult = {
  name: string;
  passed: boolean;
  decision: "allow" | "review" | "deny";
  code?: string;
  policies: string[];
  reasons: string[];
  /** Why it failed, when it did. */
  failures: string[];
};

/**
 * Run a policy test table against an agent version's policies, through the same governor that runs in
 * production (kill switch, identity, argument checks, Cedar). Rate limits are left out: a test table is about
 * what the policies decide, not about how often it was asked.
 */
export async function runPolicyTests(agent: GovernedAgent, tests: PolicyTests): Promise<PolicyTestResult[]> {
  const governor = createGovernor({ store: createMemoryGovernanceStore() });
  const governance = agent.governance ? { ...agent.governance, rateLimits: {} } : undefined;
  await governor.load({ ...agent, governance });
  const results: PolicyTestResult[] = [];
  for (const [index, test] of tests.tests.entries()) {
    const decision = await governor.decide(
      {
        kind: "tool-call",
        runId: `policy-test-${index + 1}`,
        agent: { name: agent.name, version: agent.version },
        principal: test.user,
        tool: {
          name: test.tool,
          callId: `call-${index + 1}`,
          arguments: test.input,
          argumentsHash: hashPayload(test.input),
        },
        dataClasses: test.session.dataClasses,
      },
      { signal: new AbortController().signal },
    );
    if (decision.decision === "allow") decision.inFlight?.end();
    const code = decision.decision === "deny" ? decision.code : undefined;
    const failures = check(test, {
      decision: decision.decision,
      code,
      policies: decision.policies,
      reasons: decision.reasons,
    });
    results.push({
      name: test.name,
      passed: failures.length === 0,
      decision: decision.decision,
      ...(code === undefined ? {} : { code }),
      policies: decision.policies,
      reasons: decision.reasons,
      failures,
    });
  }
  return results;
}

function check(
  test: PolicyTestCase,
  actual: { decision: string; code: string | undefined; policies: string[]; reasons: string[] },
): string[] {
  const failures: string[] = [];
  if (actual.decision !== test.expect) failures.push(`expected ${test.expect}, got ${actual.decision}`);
  if (test.code !== undefined && actual.code !== test.code) {
    failures.push(`expected code ${test.code}, got ${actual.code ?? "none"}`);
  }
  if (test.policies !== undefined) {
    const expected = [...test.policies].sort();
    const got = [...actual.policies].sort();
    if (JSON.stringify(expected) !== JSON.stringify(got)) {
      failures.push(`expected policies [${expected.join(", ")}], got [${got.join(", ")}]`);
    }
  }
  if (test.reason !== undefined && !actual.reasons.some((reason) => reason.includes(test.reason!))) {
    failures.push(`no reason contains "${test.reason}" (reasons: ${actual.reasons.join("; ") || "none"})`);
  }
  return failures;
}
