import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Worker } from "../runtime/worker.ts";
import { openStore } from "../store/open-store.ts";
import type { Store } from "../store/store.ts";
import { agentEvalTarget } from "./agent-eval-target.ts";
import { compareRuns } from "./compare-runs.ts";
import { decideGate } from "./decide-gate.ts";
import { EvalCase, type EvalCaseInput } from "./eval-case.ts";
import { refunderAgent, refunderWorker } from "./eval-fixtures.ts";
import type { EvalRunResult } from "./eval-result.ts";
import { functionEvalTarget } from "./eval-target.ts";
import type { Dataset } from "./load-dataset.ts";
import { runEval } from "./run-eval.ts";

function dataset(cases: EvalCaseInput[], name = "test"): Dataset {
  return {
    dataset: name,
    kind: "end-to-end",
    judges: {},
    file: `/tmp/${name}.yaml`,
    version: "sha256:x",
    cases: cases.map((c) => EvalCase.parse(c)),
  };
}

const agent = refunderAgent;

describe("running an eval end to end through the runtime", () => {
  let store: Store;
  let worker: Worker;
  before(async () => {
    store = await openStore({});
    ({ worker } = await refunderWorker(store));
  });
  after(async () => {
    await worker.stop();
    await store.close();
  });

  test("grades each case from its run's journal: answers, trajectory, governance and bounds", async () => {
    const progress: number[] = [];
    const result = await runEval({
      dataset: dataset([
        {
          id: "small",
          input: "refund 50",
          category: "refund",
          expect: {
            status: "completed",
            output: { contains: "refunded 50" },
            tools: { called: ["refund"], arguments: { refund: { amount: 50 } } },
            governance: "allowed",
            bounds: { maxSteps: 2 },
          },
        },
        {
          id: "held",
          input: "refund 200",
          category: "refund",
          expect: {
            status: "suspended",
            governance: { refund: "escalated" },
            tools: { forbidden: ["refund"] },
          },
        },
        {
          id: "forbidden",
          input: "refund 900",
          category: "refund",
          expect: {
            governance: "denied",
            tools: { forbidden: ["refund"] },
            output: { contains: "could not" },
          },
        },
        {
          id: "none",
          input: "hello",
          category: "chat",
          expect: { tools: { none: true }, output: { exact: "nothing to refund" } },
        },
        {
          id: "wrong",
          input: "refund 70",
          category: "chat",
          expect: { output: { contains: "refunded 71" } },
        },
      ]),
      target: agentEvalTarget({ store, agent, worker, model: "scripted" }),
      concurrency: 4,
      onProgress: ({ done }) => progress.push(done),
    });
    assert.deepEqual(progress, [1, 2, 3, 4, 5]);
    assert.deepEqual(
      result.cases.map((c) => [c.caseId, c.passed]),
      [
        ["small", true],
        ["held", true],
        ["forbidden", true],
        ["none", true],
        ["wrong", false],
      ],
    );
    assert.deepEqual(result.summary, {
      total: 5,
      passed: 4,
      failed: 1,
      errored: 0,
      passRate: 0.8,
      meanScore: 0.8,
    });
    assert.equal(result.byCategory.refund?.passRate, 1);
    assert.equal(result.byCategory.chat?.passRate, 0.5);
    const held = result.cases.find((c) => c.caseId === "held")!;
    assert.equal(held.run.status, "suspended");
    assert.deepEqual(held.run.executed, []);
    assert.match(held.run.runId ?? "", /^run_/);
  });
});

describe("unit evals, comparisons and the gate", () => {
  const cases = Array.from({ length: 40 }, (_, index) => ({
    id: `case-${index}`,
    input: String(index),
    category: index % 2 === 0 ? "even" : "odd",
    expect: { output: { exact: String(index * 2) } },
  }));

  async function evaluate(double: (n: number) => number, version: string): Promise<EvalRunResult> {
    return await runEval({
      dataset: dataset(cases),
      target: functionEvalTarget({ name: "doubler", version, run: (input) => String(double(Number(input))) }),
      concurrency: 8,
    });
  }

  test("a function target runs unit evals; a case that throws is failed, not fatal", async () => {
    const result = await runEval({
      dataset: dataset([
        { id: "a", input: "x", expect: { output: { exact: "X" } } },
        { id: "b", input: "boom" },
      ]),
      target: functionEvalTarget({
        name: "upper",
        run: (input) => {
          if (input === "boom") throw new Error("boom");
          return input.toUpperCase();
        },
      }),
    });
    assert.deepEqual(
      result.cases.map((c) => [c.caseId, c.passed, c.run.status]),
      [
        ["a", true, "completed"],
        ["b", false, "failed"],
      ],
    );
  });

  test("in a deterministic eval any drop beyond the threshold fails the gate; in a sampled one only a significant drop", async () => {
    const baseline = await evaluate((n) => n * 2, "1.0.0");
    const oneWorse = await evaluate((n) => (n === 7 ? 0 : n * 2), "1.0.1");
    const comparison = compareRuns(baseline, oneWorse);
    assert.equal(comparison.overall.regressed, 1);
    assert.equal(comparison.overall.pValue, 1);
    assert.equal(oneWorse.deterministic, true);
    const deterministic = decideGate(oneWorse, comparison, { minScore: 0.9, maxRegression: 0.02 });
    assert.equal(deterministic.passed, false);
    assert.match(deterministic.reasons[0]!, /^overall: pass rate fell 2\.5% against 1\.0\.0/);
    const sampled = decideGate({ ...oneWorse, deterministic: false }, comparison, {
      minScore: 0.9,
      maxRegression: 0.02,
    });
    assert.equal(sampled.passed, true, "one case in forty is not a significant drop for a model that varies");
  });

  test("a significant regression in one category fails the gate; the same version passes against itself", async () => {
    const baseline = await evaluate((n) => n * 2, "1.0.0");
    const same = await evaluate((n) => n * 2, "1.0.1");
    const broken = await evaluate((n) => (n % 2 === 1 && n > 20 ? n : n * 2), "1.1.0");
    const steady = compareRuns(baseline, same);
    assert.equal(steady.overall.delta, 0);
    assert.equal(decideGate(same, steady, { minScore: 0.9, maxRegression: 0.02 }).passed, true);

    const comparison = compareRuns(baseline, broken);
    assert.equal(comparison.overall.regressed, 10);
    assert.equal(comparison.byCategory.odd?.regressed, 10);
    assert.equal(comparison.byCategory.even?.delta, 0);
    assert.ok(comparison.byCategory.odd!.pValue < 0.01);
    assert.ok(comparison.overall.deltaInterval.high < 0);
    assert.deepEqual(comparison.changed[0], { caseId: "case-21", category: "odd", change: "regressed" });
    const gate = decideGate(broken, comparison, { minScore: 0.5, maxRegression: 0.02 });
    assert.equal(gate.passed, false);
    assert.equal(gate.reasons.length, 2);
    assert.match(
      gate.reasons[1]!,
      /^odd: pass rate fell 50\.0% against 1\.0\.0 \(10 regressed, 0 improved, McNemar p = 0\.00195\)/,
    );
    assert.match(
      decideGate(broken, null, { minScore: 0.9, maxRegression: 0.02 }).reasons[0]!,
      /pass rate 75\.0% is below the bar of 90\.0%/,
    );
  });
});
