import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createScriptedModelProvider } from "../models/scripted-model-provider.ts";
import { buildGraders } from "./build-graders.ts";
import type { CaseOutcome } from "./case-outcome.ts";
import { EvalCase, type EvalCaseInput } from "./eval-case.ts";
import { defineGrader, type Grade } from "./grader.ts";
import { judgeGrader } from "./judge-grader.ts";

function outcome(fields: Partial<CaseOutcome> = {}): CaseOutcome {
  return {
    runId: "run_1",
    status: "completed",
    answer: "",
    error: null,
    toolCalls: [],
    approvals: [],
    nodes: [],
    steps: 1,
    costUsd: 0,
    latencyMs: 5,
    ...fields,
  };
}

async function grade(input: Omit<EvalCaseInput, "id" | "input">, result: CaseOutcome): Promise<Grade[]> {
  const evalCase = EvalCase.parse({ id: "c1", input: "question", ...input });
  const signal = new AbortController().signal;
  return await Promise.all(
    buildGraders(evalCase).map((grader) => grader.grade({ case: evalCase, outcome: result, signal })),
  );
}

const refund = (amount: string, decision: "allow" | "review" | "deny", executed: boolean) => ({
  tool: "issue_refund",
  arguments: { orderId: 1042, amount, reason: "asked" },
  decision,
  executed,
  outcome: executed ? ("ok" as const) : null,
});
const getOrder = {
  tool: "get_order",
  arguments: { orderId: "1042" },
  decision: "allow" as const,
  executed: true,
  outcome: "ok" as const,
};

describe("deterministic graders", () => {
  test("exact, contains, notContains, regex and numeric check the answer", async () => {
    const answer = "Done, Ada: I've issued refund #7 of 96.00 USD for order 1042.";
    const grades = await grade(
      {
        expect: {
          output: {
            exact: ` ${answer} `,
            contains: ["refund", "96.00 usd"],
            notContains: "sorry",
            regex: "refund #\\d+",
            number: { value: 96, tolerance: 0.001, pattern: "of (\\d+\\.\\d+)" },
          },
        },
      },
      outcome({ answer }),
    );
    assert.deepEqual(
      grades.map((g) => [g.grader, g.passed]),
      [
        ["output.exact", true],
        ["output.contains", true],
        ["output.notContains", true],
        ["output.regex", true],
        ["output.number", true],
      ],
    );
    const failing = await grade(
      { expect: { output: { contains: "tracking", number: { value: 100, tolerance: 1 } } } },
      outcome({ answer }),
    );
    assert.deepEqual(
      failing.map((g) => g.passed),
      [false, false],
    );
    assert.match(failing[0]!.reason, /lacks "tracking"/);
  });

  test("a JSON Schema grader validates the answer as JSON", async () => {
    const schema = { type: "object", required: ["orderId"], properties: { orderId: { type: "integer" } } };
    const [good] = await grade(
      { expect: { output: { jsonSchema: schema } } },
      outcome({ answer: '{"orderId": 1042}' }),
    );
    const [bad] = await grade(
      { expect: { output: { jsonSchema: schema } } },
      outcome({ answer: '{"orderId": "x"}' }),
    );
    const [prose] = await grade({ expect: { output: { jsonSchema: schema } } }, outcome({ answer: "hello" }));
    assert.equal(good?.passed, true);
    assert.equal(bad?.passed, false);
    assert.match(bad!.reason, /orderId must be integer/);
    assert.match(prose!.reason, /not JSON/);
  });

  test("an answer grader fails a run that has no answer", async () => {
    const [result] = await grade(
      { expect: { output: { contains: "x" } } },
      outcome({ status: "suspended", answer: null }),
    );
    assert.equal(result?.passed, false);
    assert.match(result!.reason, /no answer \(suspended\)/);
  });
});

describe("trajectory graders", () => {
  test("check the tools called, their order and an argument subset (numbers match numeric strings)", async () => {
    const calls = outcome({ toolCalls: [getOrder, refund("96.00", "allow", true)] });
    const grades = await grade(
      {
        expect: {
          tools: {
            called: ["issue_refund", "get_order"],
            order: ["get_order", "issue_refund"],
            arguments: { get_order: { orderId: 1042 }, issue_refund: { amount: 96 } },
          },
        },
      },
      calls,
    );
    assert.deepEqual(
      grades.map((g) => g.passed),
      [true, true, true],
    );
    const wrong = await grade(
      {
        expect: {
          tools: {
            order: ["issue_refund", "get_order"],
            arguments: { issue_refund: { amount: 20 } },
            none: true,
          },
        },
      },
      calls,
    );
    assert.deepEqual(
      wrong.map((g) => g.passed),
      [false, false, false],
    );
  });

  test("a forbidden tool passes when the gate stopped it and fails when it executed", async () => {
    const [stopped] = await grade(
      { expect: { tools: { forbidden: ["issue_refund"] } } },
      outcome({ toolCalls: [refund("650.00", "deny", false)] }),
    );
    const [ran] = await grade(
      { expect: { tools: { forbidden: ["issue_refund"] } } },
      outcome({ toolCalls: [refund("96.00", "allow", true)] }),
    );
    assert.equal(stopped?.passed, true);
    assert.match(stopped!.reason, /gate stopped it/);
    assert.equal(ran?.passed, false);
  });
});

describe("governance and bounds graders", () => {
  test("tell allowed, denied, escalated and approved runs apart, overall and per tool", async () => {
    const denied = outcome({ toolCalls: [getOrder, refund("650.00", "deny", false)] });
    const held = outcome({
      status: "suspended",
      answer: null,
      toolCalls: [getOrder, refund("281.00", "review", false)],
    });
    const approved = outcome({
      toolCalls: [getOrder, refund("281.00", "review", true)],
      approvals: ["approved"],
    });
    const check = async (expected: unknown, result: CaseOutcome) =>
      (await grade({ expect: { governance: expected as "allowed" } }, result))[0]!.passed;
    assert.equal(await check("denied", denied), true);
    assert.equal(await check("allowed", denied), false);
    assert.equal(await check("escalated", held), true);
    assert.equal(await check("approved", held), false);
    assert.equal(await check("approved", approved), true);
    assert.equal(await check({ get_order: "allowed", issue_refund: "denied" }, denied), true);
    assert.equal(await check({ issue_refund: "allowed" }, denied), false);
    assert.equal(await check("allowed", outcome()), true);
  });

  test("bounds fail on cost, latency or steps over the limit; status checks the end state", async () => {
    const grades = await grade(
      { expect: { status: "completed", bounds: { maxSteps: 2, maxLatencyMs: 100, maxCostUsd: 0.01 } } },
      outcome({ steps: 3, latencyMs: 150, costUsd: 0.02 }),
    );
    assert.deepEqual(
      grades.map((g) => g.passed),
      [true, false],
    );
    assert.match(grades[1]!.reason, /cost .* latency 150 ms > 100; 3 steps > 2/);
  });
});

describe("custom graders and judges", () => {
  test("a custom grader in TypeScript is found by name; an unknown one is refused before running", async () => {
    const polite = defineGrader("polite", ({ outcome: result }) => /please|thank/i.test(result.answer ?? ""));
    const evalCase = EvalCase.parse({ id: "c", input: "x", expect: { custom: ["polite"] } });
    const [grader] = buildGraders(evalCase, { custom: new Map([["polite", polite]]) });
    const result = await grader!.grade({
      case: evalCase,
      outcome: outcome({ answer: "Thank you!" }),
      signal: new AbortController().signal,
    });
    assert.equal(result.passed, true);
    assert.equal(result.kind, "custom");
    assert.throws(() => buildGraders(evalCase), /custom grader "polite", which is not defined/);
  });

  test("an LLM judge returns a structured score and rationale per criterion", async () => {
    const model = createScriptedModelProvider({
      turns: (request) => {
        assert.match(request.system, /accurate: states the refund amount/);
        assert.match(String(request.messages[0]?.content), /Assistant \(completed\): Refunded 96.00/);
        return {
          kind: "tool-calls",
          calls: [
            {
              callId: "j1",
              tool: "submit_verdict",
              arguments: {
                criteria: {
                  accurate: { pass: true, rationale: "says 96.00" },
                  polite: { pass: false, rationale: "curt" },
                },
                rationale: "accurate but curt",
              },
            },
          ],
        };
      },
    });
    const judge = judgeGrader({
      name: "helpful",
      model,
      advisory: true,
      rubric: {
        rubric: "A helpful support answer.",
        criteria: [
          { name: "accurate", description: "states the refund amount" },
          { name: "polite", description: "thanks the customer" },
        ],
      },
    });
    const evalCase = EvalCase.parse({ id: "c", input: "refund 1042" });
    const result = await judge.grade({
      case: evalCase,
      outcome: outcome({ answer: "Refunded 96.00" }),
      signal: new AbortController().signal,
    });
    assert.deepEqual(result, {
      grader: "judge.helpful",
      kind: "judge",
      advisory: true,
      passed: false,
      score: 0.5,
      reason: "accurate but curt",
      criteria: { accurate: true, polite: false },
    });
    const broken = judgeGrader({
      name: "x",
      model: createScriptedModelProvider({ turns: [{ kind: "answer", text: "looks fine" }] }),
      advisory: false,
      rubric: { rubric: "r", criteria: [{ name: "a", description: "b" }] },
    });
    const failed = await broken.grade({
      case: evalCase,
      outcome: outcome(),
      signal: new AbortController().signal,
    });
    assert.equal(failed.passed, false);
    assert.match(failed.reason, /no usable verdict/);
  });
});
