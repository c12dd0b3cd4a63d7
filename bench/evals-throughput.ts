/**
 * `node bench/evals-throughput.ts [--cases 20000] [--judged 2000] [--judge-latency-ms 100] [--e2e 1000] [--json F]`:
 * eval throughput on this machine.
 *
 * 1. Deterministic cases: a unit-eval target (a function) graded by every deterministic grader kind (exact,
 *    contains, regex, numeric, trajectory, governance, bounds) through `runEval` at concurrency 32,
 *    against a baseline measured in the same run: the same graders called in a plain loop, no engine.
 * 2. Judge-graded cases: the same target graded by an LLM judge whose scripted model answers after a fixed
 *    latency (a stand-in for a real model's round trip), at concurrency 32 and at promptfoo's default of 4.
 * 3. End to end: the support-triage golden set through the durable runtime (journal, governor, tools) on an
 *    in-memory PGlite with the offline rules model, at concurrency 32.
 */
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { openEvalHarness } from "../src/cli/eval-harness.ts";
import { buildGraders } from "../src/evals/build-graders.ts";
import type { CaseOutcome } from "../src/evals/case-outcome.ts";
import { EvalCase } from "../src/evals/eval-case.ts";
import type { EvalTarget } from "../src/evals/eval-target.ts";
import { judgeGrader } from "../src/evals/judge-grader.ts";
import { type Dataset, loadDataset } from "../src/evals/load-dataset.ts";
import { runEval } from "../src/evals/run-eval.ts";
import { createScriptedModelProvider } from "../src/models/scripted-model-provider.ts";
import { formatTable, rate, times } from "./format-table.ts";

const { values } = parseArgs({
  options: {
    cases: { type: "string", default: "20000" },
    judged: { type: "string", default: "2000" },
    "judge-latency-ms": { type: "string", default: "100" },
    e2e: { type: "string", default: "1000" },
    json: { type: "string" },
  },
});
const caseCount = Number(values.cases);
const judgedCount = Number(values.judged);
const judgeLatencyMs = Number(values["judge-latency-ms"]);
const e2eCount = Number(values.e2e);

function deterministicCase(index: number): EvalCase {
  return EvalCase.parse({
    id: `case-${index}`,
    input: `Where is my order ${1000 + (index % 50)}?`,
    category: ["status", "refund", "faq", "ticket"][index % 4],
    expect: {
      status: "completed",
      output: {
        contains: ["order", "shipped"],
        regex: "tracking number \\w+",
        number: { value: 1000 + (index % 50), tolerance: 0 },
      },
      tools: {
        called: ["get_order"],
        order: ["get_order"],
        arguments: { get_order: { orderId: 1000 + (index % 50) } },
        forbidden: ["issue_refund"],
      },
      governance: "allowed",
      bounds: { maxSteps: 4, maxLatencyMs: 5_000, maxCostUsd: 0.01 },
    },
  });
}

function outcomeFor(evalCase: EvalCase): CaseOutcome {
  const orderId = Number(/\d+/.exec(evalCase.input)?.[0]);
  return {
    runId: null,
    status: "completed",
    answer: `Hi Ada, order ${orderId} shipped on 2025-10-28 with UPS. The tracking number is 1ZLH42A80312104284.`,
    error: null,
    toolCalls: [
      {
        tool: "get_order",
        arguments: { orderId: String(orderId) },
        decision: "allow",
        executed: true,
        outcome: "ok",
      },
    ],
    approvals: [],
    nodes: [],
    steps: 2,
    costUsd: 0,
    latencyMs: 1,
  };
}

const replayTarget: EvalTarget = {
  agent: "bench",
  version: "1.0.0",
  model: "replayed outcome",
  run: async (evalCase) => outcomeFor(evalCase),
};

function dataset(cases: EvalCase[]): Dataset {
  return { dataset: "bench", kind: "regression", judges: {}, file: "bench", version: "sha256:bench", cases };
}

async function timed<T>(work: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { seconds: (performance.now() - started) / 1000, value };
}

const rows: string[][] = [];
const results: Record<string, unknown> = {};

// 1. Deterministic: baseline loop, then the engine.
const cases = Array.from({ length: caseCount }, (_, index) => deterministicCase(index));
await runEval({ dataset: dataset(cases.slice(0, 2_000)), target: replayTarget, concurrency: 32 }); // warm-up
const baseline = await timed(async () => {
  let passed = 0;
  const signal = new AbortController().signal;
  for (const evalCase of cases) {
    const outcome = outcomeFor(evalCase);
    let ok = true;
    for (const grader of buildGraders(evalCase))
      ok = (await grader.grade({ case: evalCase, outcome, signal })).passed && ok;
    if (ok) passed += 1;
  }
  return passed;
});
const engine = await timed(() => runEval({ dataset: dataset(cases), target: replayTarget, concurrency: 32 }));
if (engine.value.summary.passed !== caseCount)
  throw new Error(`only ${engine.value.summary.passed} of ${caseCount} passed`);
const baselineRate = caseCount / baseline.seconds;
const engineRate = caseCount / engine.seconds;
rows.push([
  "graders in a plain loop (baseline)",
  String(caseCount),
  rate(baselineRate, "cases/s"),
  "1.00×",
  "",
]);
rows.push([
  "deterministic cases, runEval, concurrency 32",
  String(caseCount),
  rate(engineRate, "cases/s"),
  times(engineRate / baselineRate),
  engineRate >= 1_000 ? "≥ 1,000: met" : "≥ 1,000: MISSED",
]);
results.deterministic = {
  cases: caseCount,
  casesPerSecond: engineRate,
  baselineCasesPerSecond: baselineRate,
  gradersPerCase: buildGraders(cases[1]!).length,
};

// 2. Judge-graded: a scripted judge that answers after a fixed latency.
const judgeModel = createScriptedModelProvider({
  delayMs: judgeLatencyMs,
  turns: () => ({
    kind: "tool-calls",
    calls: [
      {
        callId: "v",
        tool: "submit_verdict",
        arguments: {
          criteria: {
            accurate: { pass: true, rationale: "states the status" },
            helpful: { pass: true, rationale: "gives tracking" },
          },
          rationale: "good",
        },
      },
    ],
  }),
});
const judges = new Map([
  [
    "quality",
    judgeGrader({
      name: "quality",
      model: judgeModel,
      advisory: false,
      rubric: {
        rubric: "A helpful support answer.",
        criteria: [
          { name: "accurate", description: "correct status" },
          { name: "helpful", description: "gives tracking" },
        ],
      },
    }),
  ],
]);
const judgedCases = cases
  .slice(0, judgedCount)
  .map((evalCase) => EvalCase.parse({ ...evalCase, expect: { ...evalCase.expect, judge: ["quality"] } }));
for (const concurrency of [32, 4]) {
  const count = concurrency === 4 ? Math.min(judgedCount, 400) : judgedCount;
  const judged = await timed(() =>
    runEval({
      dataset: dataset(judgedCases.slice(0, count)),
      target: replayTarget,
      graders: { judges },
      concurrency,
    }),
  );
  if (judged.value.summary.passed !== count) throw new Error("judge-graded cases failed");
  const judgedRate = count / judged.seconds;
  const ceiling = (concurrency * 1000) / judgeLatencyMs;
  rows.push([
    `judge-graded cases (${judgeLatencyMs} ms judge), concurrency ${concurrency}`,
    String(count),
    rate(judgedRate, "cases/s"),
    times(judgedRate / ceiling),
    concurrency === 32
      ? judgedRate >= 100
        ? "≥ 100: met"
        : "≥ 100: MISSED"
      : "promptfoo's default concurrency",
  ]);
  results[`judged${concurrency}`] = {
    cases: count,
    casesPerSecond: judgedRate,
    ceilingCasesPerSecond: ceiling,
    judgeLatencyMs,
  };
}

// 3. End to end through the durable runtime.
const golden = await loadDataset(
  new URL("../examples/support-triage/evals/golden.yaml", import.meta.url).pathname,
);
// Refund cases change the shop's state, so only the read-only cases are repeated.
const readOnly = golden.cases.filter((entry) => !entry.category.startsWith("refund"));
const repeated = Array.from({ length: e2eCount }, (_, index) => {
  const source = readOnly[index % readOnly.length]!;
  return { ...source, id: `${source.id}-${index}` };
});
const harness = await openEvalHarness({
  packagesModule: new URL("../examples/index.ts", import.meta.url).pathname,
  agent: "support-triage",
  env: {},
  concurrency: 32,
  recording: "off",
});
try {
  await runEval({
    dataset: { ...golden, cases: repeated.slice(0, 64) },
    target: harness.target,
    concurrency: 32,
  }); // warm-up
  const e2e = await timed(() =>
    runEval({ dataset: { ...golden, cases: repeated }, target: harness.target, concurrency: 32 }),
  );
  const e2eRate = e2eCount / e2e.seconds;
  rows.push([
    "end to end: runtime + governor + tools on PGlite, concurrency 32",
    String(e2eCount),
    rate(e2eRate, "cases/s"),
    "",
    `${e2e.value.summary.passed}/${e2eCount} passed`,
  ]);
  results.endToEnd = { cases: e2eCount, casesPerSecond: e2eRate, passed: e2e.value.summary.passed };
} finally {
  await harness.close();
}

console.log(formatTable(["what", "cases", "throughput", "ratio", "target"], rows));
console.log(
  "\nratio: deterministic rows against the plain loop; judge rows against concurrency × 1000 / judge latency (the ceiling).",
);
if (values.json)
  await writeFile(
    values.json,
    `${JSON.stringify({ machine: { node: process.version }, ...results }, null, 2)}\n`,
  );
