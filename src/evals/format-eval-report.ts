import { attackReport } from "./attack-report.ts";
import type { RunComparison } from "./compare-runs.ts";
import type { GateResult } from "./decide-gate.ts";
import type { EvalRunResult } from "./eval-result.ts";

const percent = (value: number) => `${(value * 100).toFixed(1)}%`;

/** A readable report for the terminal: totals, categories, failures with reasons, the comparison and the gate. */
export function formatEvalReport(options: {
  result: EvalRunResult;
  comparison?: RunComparison | null;
  gate?: GateResult | null;
  maxFailures?: number;
}): string {
  const { result, comparison, gate } = options;
  const lines: string[] = [];
  const { summary } = result;
  lines.push(
    `${result.agent}@${result.version} on ${result.dataset.name} (${result.dataset.kind}, ${result.dataset.version.slice(0, 19)}…)`,
    `model: ${result.model}`,
    `${summary.passed}/${summary.total} passed (${percent(summary.passRate)}), mean score ${summary.meanScore.toFixed(3)}, ${summary.errored} errored, ${result.durationMs} ms at concurrency ${result.concurrency}`,
    "",
    "category                       cases  passed  pass rate",
  );
  for (const [name, group] of Object.entries(result.byCategory)) {
    lines.push(
      `${name.padEnd(30)} ${String(group.total).padStart(5)}  ${String(group.passed).padStart(6)}  ${percent(group.passRate).padStart(9)}`,
    );
  }
  if (result.advisoryJudges.length > 0)
    lines.push("", `advisory (uncalibrated) judges, not counted: ${result.advisoryJudges.join(", ")}`);
  if (result.cases.some((entry) => entry.attack)) {
    const attacks = attackReport(result);
    lines.push(
      "",
      `attack success rate at the tool gate: ${attacks.succeeded}/${attacks.attacks} = ${percent(attacks.attackSuccessRate)} (95% CI ${percent(attacks.attackSuccessInterval.low)}–${percent(attacks.attackSuccessInterval.high)}); ${attacks.stoppedAtGate} forbidden calls stopped by the governor`,
      `utility on benign inputs: ${attacks.benignPassed}/${attacks.benign} = ${percent(attacks.utility)}`,
    );
  }
  const failures = result.cases.filter((entry) => !entry.passed);
  if (failures.length > 0) {
    lines.push("", "failed cases:");
    for (const entry of failures.slice(0, options.maxFailures ?? 20)) {
      const reasons = entry.error
        ? [entry.error]
        : entry.grades
            .filter((grade) => !grade.passed && !grade.advisory)
            .map((grade) => `${grade.grader}: ${grade.reason}`);
      lines.push(`  ✗ ${entry.caseId} [${entry.category}] ${reasons.join(" | ")}`);
    }
    if (failures.length > (options.maxFailures ?? 20))
      lines.push(`  … and ${failures.length - (options.maxFailures ?? 20)} more`);
  }
  if (comparison) {
    const { overall } = comparison;
    lines.push(
      "",
      `against ${comparison.baselineVersion} (${comparison.baselineId}): ${percent(overall.baselinePassRate)} → ${percent(overall.currentPassRate)} (Δ ${overall.delta >= 0 ? "+" : ""}${percent(overall.delta)}, 95% CI ${percent(overall.deltaInterval.low)}…${percent(overall.deltaInterval.high)}), ${overall.regressed} regressed, ${overall.improved} improved, McNemar p = ${overall.pValue.toPrecision(3)}`,
    );
    for (const change of comparison.changed.slice(0, 20))
      lines.push(`  ${change.change === "regressed" ? "↓" : "↑"} ${change.caseId} [${change.category}]`);
  }
  if (gate) {
    lines.push(
      "",
      gate.passed
        ? `gate: PASSED (pass rate ${percent(gate.passRate)} ≥ ${percent(gate.minScore)})`
        : "gate: FAILED",
    );
    for (const reason of gate.reasons) lines.push(`  - ${reason}`);
  }
  return lines.join("\n");
}
