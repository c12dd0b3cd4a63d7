import { z } from "zod";
import type { GovernedAgent, GovernedTool } from "../src/governance/governed-agent.ts";
import type { ActionRequest } from "../src/governance/governor.ts";
import { hashPayload } from "../src/journal/hash.ts";
import { GovernanceSection } from "../src/spec/governance-section.ts";

/** Who the benchmark's runs act for. */
export const BENCH_PRINCIPAL = { subject: "ada@example.com", tenant: "acme", roles: ["customer"] };

function benchTool(name: string): GovernedTool {
  const input = z.strictObject({
    orderId: z.number().int(),
    amount: z.number().positive(),
    reason: z.string().min(3),
  });
  return {
    name,
    inputSchema: z.toJSONSchema(input, { io: "input" }) as Record<string, unknown>,
    dataClasses: name === "issue_refund" ? ["financial"] : ["internal"],
    sendsDataOutside: name === "tool_1",
    sideEffect: true,
    checkArguments(args) {
      const parsed = input.safeParse(args);
      return parsed.success ? { ok: true, value: parsed.data } : { ok: false, message: parsed.error.message };
    },
  };
}

/**
 * An agent with exactly `count` enforced policies: its spec compiles to five policies (review and forbid on the
 * refund amount, review of outside sends after personal data, model calls, delegation) plus one permit per tool,
 * and team policies make up the rest — forbids and `@review` forbids with conditions on the amount and the
 * session that do not hold for the measured call, spread round-robin over the tools (so about one in `tools` is
 * scoped to the measured tool and is really evaluated, the others are skipped by their scope).
 */
export function benchGovernedAgent(count: number): GovernedAgent {
  const toolCount = count <= 10 ? 5 : count <= 100 ? 20 : 50;
  const names = ["issue_refund", ...Array.from({ length: toolCount - 1 }, (_, index) => `tool_${index + 1}`)];
  const governance = GovernanceSection.parse({
    allowedTools: names,
    decisionAuthority: {
      autonomous: names,
      requiresHumanReview: [{ tool: "issue_refund", when: "input.amount > 100" }],
      forbidden: [{ tool: "issue_refund", when: "input.amount > 500" }],
    },
    dataAccess: { allowPii: true, allowFinancial: true },
    // A bucket every call takes a token from, large enough never to refuse one during the run.
    rateLimits: { "*": "1000000000/second" },
  });
  const compiled = toolCount + 5;
  const extra = count - compiled;
  if (extra < 0) throw new Error(`${count} policies is fewer than the ${compiled} the spec compiles to`);
  const lines: string[] = [];
  for (let index = 0; index < extra; index++) {
    const tool = names[index % names.length]!;
    const scope = `principal, action == Keel::Action::"tool:${tool}", resource`;
    lines.push(
      index % 5 === 4
        ? `@id("r${index}") @review forbid(${scope}) when { context.session.dataClasses.contains("secret-${index}") };`
        : `@id("f${index}") forbid(${scope}) when { context.numbers has "amount" && context.numbers["amount"].greaterThan(decimal("${10_000 + index}.0")) };`,
    );
  }
  return {
    name: "bench",
    version: "1.0.0",
    governance,
    tools: names.map(benchTool),
    policyFiles: extra > 0 ? [{ path: "bench.cedar", text: lines.join("\n"), mode: "enforce" }] : [],
  };
}

/** A refund of 20 (allowed), as call number `index` of its run. */
export function benchRequest(index: number): ActionRequest {
  const args = { orderId: 1_000 + index, amount: 20, reason: "broken on arrival" };
  return {
    kind: "tool-call",
    runId: `run_${index % 16}`,
    agent: { name: "bench", version: "1.0.0" },
    principal: BENCH_PRINCIPAL,
    tool: {
      name: "issue_refund",
      callId: `call_${index}`,
      arguments: args,
      argumentsHash: hashPayload(args),
    },
    dataClasses: ["internal", "pii"],
  };
}
