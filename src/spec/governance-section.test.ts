import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { GovernanceSection } from "./governance-section.ts";
import { loadAgentSpec } from "./load-agent-spec.ts";
import { SpecError, type SpecIssue } from "./spec-error.ts";

const SPEC = `apiVersion: keel/v1
kind: Agent
name: refunder
version: 1.0.0
description: Refunds orders.
owner: { team: support-ops }
riskTier: 2
prompt: ./prompt.md
model: { provider: scripted, id: test }
tools: [get_order, issue_refund, send_email]
`;

function writeAgent(governance: string, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "keel-governance-"));
  const all = { "agent.yaml": `${SPEC}${governance}`, "prompt.md": "Refund orders.\n", ...files };
  for (const [name, text] of Object.entries(all)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return join(dir, "agent.yaml");
}

async function issuesOf(file: string): Promise<SpecIssue[]> {
  try {
    await loadAgentSpec(file);
  } catch (error) {
    assert.ok(error instanceof SpecError);
    return [...error.issues];
  }
  return assert.fail("expected the spec to be rejected");
}

const where = (issue: SpecIssue) => `${issue.line}:${issue.column} ${issue.path}: ${issue.message}`;

describe("the governance section", () => {
  test("parses tiers, conditions, data access, rate limits, delegation and policy files", async () => {
    const file = writeAgent(
      `governance:
  allowedTools: [get_order, issue_refund, send_email]
  decisionAuthority:
    autonomous: [get_order]
    requiresHumanReview:
      - send_email
      - { tool: issue_refund, when: "input.amount > 100" }
    forbidden:
      - { tool: issue_refund, when: "input.amount > 500", reason: refunds above 500 go to finance }
  dataAccess: { allowPii: true, maxRecordsPerQuery: 50 }
  rateLimits: { issue_refund: 5/hour, "*": { rate: 30/minute, burst: 10, per: [tenant] } }
  delegation: { roles: { agent: ["*"], viewer: [get_order] } }
  policies: [./policies/*.cedar, { path: ./shadow/strict.cedar, mode: shadow }]
  capabilityTtl: 2m
`,
      {
        "policies/a.cedar": "permit(principal, action, resource);\r\n",
        "policies/b.cedar": "forbid(principal, action, resource);\n",
        "shadow/strict.cedar": "forbid(principal, action, resource);\n",
      },
    );
    const loaded = await loadAgentSpec(file);
    const governance = loaded.spec.governance!;
    assert.deepEqual(governance.allowedTools, ["get_order", "issue_refund", "send_email"]);
    assert.deepEqual(governance.decisionAuthority.requiresHumanReview[1], {
      tool: "issue_refund",
      when: "input.amount > 100",
    });
    assert.deepEqual(governance.dataAccess, {
      allowPii: true,
      allowFinancial: false,
      maxRecordsPerQuery: 50,
    });
    assert.deepEqual(governance.rateLimits.issue_refund, {
      limit: 5,
      intervalMs: 3_600_000,
      burst: 5,
      per: ["agent", "tool", "tenant", "user"],
    });
    assert.deepEqual(governance.rateLimits["*"], {
      limit: 30,
      intervalMs: 60_000,
      burst: 10,
      per: ["tenant"],
    });
    assert.equal(governance.capabilityTtl, 120_000);
    assert.equal(governance.mode, "enforce");
    assert.deepEqual(
      loaded.policies.map((policy) => [policy.path, policy.mode, policy.text]),
      [
        ["policies/a.cedar", "enforce", "permit(principal, action, resource);\n"],
        ["policies/b.cedar", "enforce", "forbid(principal, action, resource);\n"],
        ["shadow/strict.cedar", "shadow", "forbid(principal, action, resource);\n"],
      ],
    );
  });

  test("defaults to nothing allowed, review for unlisted tools, no PII, a 5 minute token and autonomy proposed at 95%", () => {
    assert.deepEqual(GovernanceSection.parse({}), {
      allowedTools: [],
      decisionAuthority: { autonomous: [], requiresHumanReview: [], forbidden: [] },
      dataAccess: { allowPii: false, allowFinancial: false },
      rateLimits: {},
      policies: [],
      mode: "enforce",
      autonomy: { threshold: 0.95, minDecisions: 50, confidence: 0.95 },
      capabilityTtl: 300_000,
    });
  });

  test("reports a malformed condition, rate and token lifetime at their lines", async () => {
    const file = writeAgent(`governance:
  allowedTools: [issue_refund]
  decisionAuthority:
    forbidden:
      - { tool: issue_refund, when: "input.amount >> 500" }
  rateLimits: { issue_refund: 5 per hour }
  capabilityTtl: 20m
`);
    assert.deepEqual((await issuesOf(file)).map(where), [
      `15:37 governance.decisionAuthority.forbidden[0].when: invalid condition at column 15: expected a number, 'text', true or false but found ">"`,
      "16:31 governance.rateLimits.issue_refund: expected a rate such as 5/hour, 30/minute, 10/second or 100/day",
      "17:18 governance.capabilityTtl: a capability token lives at most 15m",
    ]);
  });

  test("reports tools the agent does not have and tiers naming tools that are not allowed", async () => {
    const file = writeAgent(`governance:
  allowedTools: [get_order, delete_everything]
  decisionAuthority:
    autonomous: [issue_refund]
  rateLimits: { wire_money: 1/day }
  delegation: { roles: { viewer: [launch_rockets] } }
`);
    assert.deepEqual((await issuesOf(file)).map(where), [
      '12:29 governance.allowedTools[1]: "delete_everything" is not one of the agent\'s tools',
      '14:18 governance.decisionAuthority.autonomous[0]: "issue_refund" is not in allowedTools, so it is never permitted',
      '15:29 governance.rateLimits.wire_money: "wire_money" is not one of the agent\'s tools',
      '16:35 governance.delegation.roles.viewer[0]: "launch_rockets" is not one of the agent\'s tools',
    ]);
  });

  test("reports a policy path that matches no file", async () => {
    const file = writeAgent(`governance:
  allowedTools: [get_order]
  policies: [./policies/*.cedar]
`);
    assert.deepEqual((await issuesOf(file)).map(where), [
      "13:14 governance.policies[0]: no Cedar policy file matches ./policies/*.cedar",
    ]);
  });

  test("changes the version hash when a policy file changes", async () => {
    const governance = "governance:\n  allowedTools: [get_order]\n  policies: [./p.cedar]\n";
    const first = await loadAgentSpec(
      writeAgent(governance, { "p.cedar": "permit(principal, action, resource);\n" }),
    );
    const same = await loadAgentSpec(
      writeAgent(governance, { "p.cedar": "permit(principal, action, resource);\n" }),
    );
    const changed = await loadAgentSpec(
      writeAgent(governance, { "p.cedar": "forbid(principal, action, resource);\n" }),
    );
    assert.equal(same.versionHash, first.versionHash);
    assert.notEqual(changed.versionHash, first.versionHash);
  });
});
