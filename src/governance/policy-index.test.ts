import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import fc from "fast-check";
import { z } from "zod";
import { hashPayload } from "../journal/hash.ts";
import { createCedarPolicyEngine } from "./cedar-policy-engine.ts";
import { compileAgentPolicies } from "./compile-agent-policies.ts";
import { buildPolicyQuestion, evaluatePolicies } from "./evaluate-policies.ts";
import { fixtureAgent, fixtureTool, SUPPORT_GOVERNANCE } from "./governance-test-fixtures.ts";
import type { ActionRequest } from "./governor.ts";
import { loadGovernedAgent } from "./load-governed-agent.ts";
import { analysePolicy, emptyTree, mergeTree, pruneValue } from "./policy-index.ts";

const TEAM = `
@id("no-big-trial") forbid(principal in Keel::Tenant::"trial", action == Keel::Action::"tool:issue_refund", resource)
  when { context.numbers has "amount" && context.numbers["amount"].greaterThan(decimal("20.0")) };
@id("vip-email") permit(principal in Keel::Role::"vip", action == Keel::Action::"tool:send_email", resource);
@id("quiet-hours") @review forbid(principal, action in Keel::Action::"call_tool", resource)
  when { context.user.roles.contains("night-shift") && resource.sideEffect };
@id("reason-words") forbid(principal, action == Keel::Action::"tool:issue_refund", resource)
  when { context.input has reason && context.input.reason like "*fraud*" };
@id("agent-name") forbid(principal, action, resource) when { principal is Keel::Agent && principal.name == "blocked" };
@id("whole-context") forbid(principal, action == Keel::Action::"tool:create_ticket", resource)
  when { context has records || context.session.dataClasses.contains("secret") };
`;

describe("the policy index", () => {
  test("reads which context paths a policy's conditions touch", () => {
    const shape = analysePolicy(
      "p",
      'forbid(principal, action, resource) when { context.numbers has "amount" && context.input.a.b == 1 && context.session == {} };',
      false,
    );
    const tree = emptyTree();
    mergeTree(tree, shape.context);
    assert.deepEqual(
      pruneValue(
        { numbers: { amount: 1, other: 2 }, input: { a: { b: 1, c: 2 }, d: 3 }, session: { x: 1 }, user: {} },
        tree,
      ),
      { numbers: { amount: 1 }, input: { a: { b: 1 } }, session: { x: 1 } },
    );
  });

  test("decides exactly as Cedar does with every policy and the whole request, for random calls", async () => {
    const agent = fixtureAgent({
      governance: {
        ...SUPPORT_GOVERNANCE,
        delegation: { roles: { customer: ["search_kb", "get_order", "issue_refund"], support: ["*"] } },
      },
      policyFiles: [{ path: "team.cedar", mode: "enforce", text: TEAM }],
      tools: [
        ...fixtureAgent().tools,
        fixtureTool({
          name: "wire_money",
          input: z.object({ amount: z.number() }),
          dataClasses: ["financial"],
          sideEffect: true,
        }),
      ],
    });
    const engine = createCedarPolicyEngine();
    const loaded = loadGovernedAgent(engine, agent, 1);
    const whole = compileAgentPolicies(agent);
    cedar.preparsePolicySet("index-test:whole", { staticPolicies: whole.texts });
    const reference = (request: ActionRequest) => {
      const tool = loaded.tools.get(request.tool!.name)!;
      const question = buildPolicyQuestion(
        loaded,
        request,
        tool,
        tool.checkArguments(request.tool!.arguments),
      );
      const all = question.context({ whole: true, children: new Map() });
      const entities = Object.values(question.entities);
      const ask = (principal: { type: string; id: string }) =>
        cedar.statefulIsAuthorized({
          principal,
          action: question.action,
          resource: question.resource,
          context: all as cedar.Context,
          preparsedPolicySetId: "index-test:whole",
          entities: entities as cedar.EntityJson[],
        });
      return [ask(loaded.agentRef), ask({ type: "Keel::User", id: request.principal.subject })].map(
        (answer) => {
          assert.equal(answer.type, "success");
          return answer.type === "success" ? answer.response : null;
        },
      );
    };
    const argumentsFor: Record<string, fc.Arbitrary<unknown>> = {
      search_kb: fc.record({ query: fc.constantFrom("a", "fraud"), limit: fc.integer({ min: 1, max: 9 }) }),
      get_order: fc.record({ orderId: fc.integer({ min: 1, max: 3 }) }),
      issue_refund: fc.record({
        orderId: fc.constant(1),
        amount: fc.constantFrom(5, 20, 20.5, "99.99", 100, 100.01, 500, 501, "lots"),
        reason: fc.constantFrom("broken", "likely fraud here", "late"),
      }),
      send_email: fc.record({ to: fc.constant("a@b.co"), subject: fc.constant("s"), body: fc.constant("b") }),
      create_ticket: fc.record({ subject: fc.constant("s"), body: fc.constant("b") }),
      wire_money: fc.record({ amount: fc.constantFrom(1, 1000) }),
    };
    const requests = fc
      .record({
        tool: fc.constantFrom(...Object.keys(argumentsFor)),
        tenant: fc.constantFrom("acme", "trial"),
        roles: fc.subarray(["customer", "support", "vip", "night-shift"]),
        dataClasses: fc.subarray(["internal", "pii", "financial", "secret"]),
      })
      .chain((base) => argumentsFor[base.tool]!.map((args) => ({ ...base, args })));
    let compared = 0;
    await fc.assert(
      fc.asyncProperty(requests, async ({ tool, tenant, roles, dataClasses, args }) => {
        const request: ActionRequest = {
          kind: "tool-call",
          runId: "run_index",
          agent: { name: agent.name, version: agent.version },
          principal: { subject: "ada", tenant, roles },
          tool: { name: tool, callId: "c", arguments: args, argumentsHash: hashPayload(args) },
          dataClasses,
        };
        const loadedTool = loaded.tools.get(tool)!;
        const question = buildPolicyQuestion(loaded, request, loadedTool, loadedTool.checkArguments(args));
        const indexed = evaluatePolicies(engine, loaded, loaded.enforce, question, request.principal);
        const [agentSide, userSide] = reference(request);
        const naiveForbids = [agentSide!, userSide!].flatMap((side) =>
          side.decision === "deny" ? side.diagnostics.reason : [],
        );
        const naiveErrors = [agentSide!, userSide!].flatMap((side) => side.diagnostics.errors);
        if (naiveErrors.length > 0) {
          assert.equal(indexed.decision, "deny");
          return;
        }
        const hard = naiveForbids.filter((id) => !loaded.info.get(id)?.review);
        if (hard.length > 0) {
          assert.equal(indexed.decision, "deny");
          assert.deepEqual(new Set(indexed.policies), new Set(hard));
        } else if (agentSide!.decision === "allow" && userSide!.decision === "allow") {
          assert.equal(indexed.decision, "allow");
        } else {
          assert.notEqual(indexed.decision, "allow");
        }
        compared += 1;
      }),
      { numRuns: 600, seed: 4 },
    );
    assert.ok(compared > 300);
  });
});
