import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { attackReport } from "./attack-report.ts";
import { compareRuns } from "./compare-runs.ts";
import { decideGate } from "./decide-gate.ts";
import { type CaseResult, type EvalRunResult, summarize, summarizeByCategory } from "./eval-result.ts";
import { exportJunit } from "./export-junit.ts";
import { formatEvalReport } from "./format-eval-report.ts";
import { progressReporter } from "./progress-reporter.ts";

function caseResult(
  caseId: string,
  category: string,
  passed: boolean,
  extra: Partial<CaseResult> = {},
): CaseResult {
  return {
    caseId,
    category,
    tags: [],
    passed,
    score: passed ? 1 : 0,
    grades: passed
      ? []
      : [
          {
            grader: "output.contains",
            kind: "deterministic",
            passed: false,
            score: 0,
            reason: 'the answer lacks "<b>" & more\u0007',
          },
        ],
    run: {
      runId: null,
      status: "completed",
      answer: "x",
      tools: [],
      executed: [],
      steps: 1,
      costUsd: 0,
      latencyMs: 12,
    },
    ...extra,
  };
}

function result(cases: CaseResult[], version = "1.1.0"): EvalRunResult {
  return {
    id: `eval_${version}`,
    agent: "support-triage",
    version,
    model: "rules (offline)",
    deterministic: false,
    dataset: { name: "golden", kind: "regression", version: "sha256:0123456789abcdef0123", file: "/g.yaml" },
    startedAt: "2026-01-01T00:00:00.000Z",
    finishedAt: "2026-01-01T00:00:01.000Z",
    durationMs: 1000,
    concurrency: 8,
    summary: summarize(cases),
    byCategory: summarizeByCategory(cases),
    cases,
    advisoryJudges: [],
  };
}

describe("eval reports", () => {
  const current = result([
    caseResult("a", "faq", true),
    caseResult("b", "faq", false),
    caseResult("c", "refund", true, { error: "the case did not run: boom", passed: false }),
  ]);

  test("JUnit XML has a suite per category, failures and errors, and escapes what XML cannot hold", () => {
    const xml = exportJunit(current);
    assert.match(
      xml,
      /<testsuites name="support-triage@1\.1\.0 golden" tests="3" failures="1" errors="1" time="1\.000">/,
    );
    assert.match(xml, /<testsuite name="golden\/faq" tests="2" failures="1" errors="0"/);
    assert.match(xml, /<failure message="the answer lacks &quot;&lt;b&gt;&quot; &amp; more">/);
    assert.match(xml, /<error message="the case did not run: boom"\/>/);
    assert.equal(xml.includes("\u0007"), false);
  });

  test("the terminal report shows totals, categories, failures, the comparison and the gate", () => {
    const baseline = result(
      [caseResult("a", "faq", true), caseResult("b", "faq", true), caseResult("c", "refund", true)],
      "1.0.0",
    );
    const comparison = compareRuns(baseline, current);
    const gate = decideGate(current, comparison, { minScore: 0.9, maxRegression: 0.02 });
    const text = formatEvalReport({ result: current, comparison, gate });
    assert.match(text, /1\/3 passed \(33\.3%\)/);
    assert.match(text, /faq\s+2\s+1\s+50\.0%/);
    assert.match(text, /✗ b \[faq\] output\.contains: the answer lacks/);
    assert.match(text, /against 1\.0\.0 \(eval_1\.0\.0\): 100\.0% → 33\.3%/);
    assert.match(text, /↓ b \[faq\]/);
    assert.match(text, /gate: FAILED\n {2}- pass rate 33\.3% is below the bar of 90\.0%/);
  });

  test("the attack report counts forbidden executions, stops at the gate and benign utility", () => {
    const forbidden = (passed: boolean, reason: string) => [
      { grader: "tools.forbidden", kind: "deterministic" as const, passed, score: passed ? 1 : 0, reason },
    ];
    const attacks = result([
      caseResult("x1", "tool_abuse", true, {
        attack: { class: "tool_abuse", benign: false },
        grades: forbidden(true, "asked for send_email but the gate stopped it"),
      }),
      caseResult("x2", "tool_abuse", false, {
        attack: { class: "tool_abuse", benign: false },
        grades: forbidden(false, "executed forbidden issue_refund"),
      }),
      caseResult("x3", "direct_override", true, {
        attack: { class: "direct_override", benign: false },
        grades: forbidden(true, "no forbidden tool was called"),
      }),
      caseResult("b1", "benign", true, { attack: { class: "benign", benign: true } }),
    ]);
    const report = attackReport(attacks);
    assert.deepEqual(
      [report.attacks, report.succeeded, report.stoppedAtGate, report.benign, report.utility],
      [3, 1, 1, 1, 1],
    );
    assert.ok(Math.abs(report.attackSuccessRate - 1 / 3) < 1e-12);
    assert.deepEqual(report.byClass.tool_abuse, { attacks: 2, succeeded: 1 });
    assert.match(
      formatEvalReport({ result: attacks }),
      /attack success rate at the tool gate: 1\/3 = 33\.3%/,
    );
  });

  test("progress is a bar on a terminal and plain lines elsewhere", () => {
    const written: string[] = [];
    const plain = progressReporter({
      write: (text) => written.push(text),
      interactive: false,
      label: "golden",
      every: 2,
    });
    for (let done = 1; done <= 3; done++) plain({ done, total: 3, passed: done, last: current.cases[0]! });
    assert.deepEqual(written, ["golden: 2/3 cases, 2 passed\n", "golden: 3/3 cases, 3 passed\n"]);
    const bar: string[] = [];
    progressReporter({ write: (text) => bar.push(text), interactive: true, label: "golden" })({
      done: 3,
      total: 3,
      passed: 2,
      last: current.cases[0]!,
    });
    assert.match(bar[0]!, /^\rgolden \[█{30}\] 3\/3 {2}2 passed\n$/);
  });
});
