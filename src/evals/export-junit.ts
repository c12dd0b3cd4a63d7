import type { EvalRunResult } from "./eval-result.ts";

/** An eval run as JUnit XML: one test suite per category, one test case per eval case; CI systems display it. */
export function exportJunit(result: EvalRunResult): string {
  const byCategory = new Map<string, EvalRunResult["cases"]>();
  for (const entry of result.cases)
    byCategory.set(entry.category, [...(byCategory.get(entry.category) ?? []), entry]);
  const suites = [...byCategory.entries()].map(([category, cases]) => {
    const failures = cases.filter((entry) => !entry.passed && entry.error === undefined).length;
    const errors = cases.filter((entry) => entry.error !== undefined).length;
    const time = cases.reduce((sum, entry) => sum + entry.run.latencyMs, 0) / 1000;
    const tests = cases.map((entry) => {
      const name = `name="${xml(entry.caseId)}" classname="${xml(`${result.agent}.${result.dataset.name}.${category}`)}" time="${(entry.run.latencyMs / 1000).toFixed(3)}"`;
      if (entry.error !== undefined)
        return `    <testcase ${name}>\n      <error message="${xml(entry.error)}"/>\n    </testcase>`;
      if (entry.passed) return `    <testcase ${name}/>`;
      const failed = entry.grades.filter((grade) => !grade.passed && !grade.advisory);
      const message = failed.map((grade) => `${grade.grader}: ${grade.reason}`).join("\n");
      return `    <testcase ${name}>\n      <failure message="${xml(failed[0]?.reason ?? "failed")}">${xml(message)}</failure>\n    </testcase>`;
    });
    return `  <testsuite name="${xml(`${result.dataset.name}/${category}`)}" tests="${cases.length}" failures="${failures}" errors="${errors}" time="${time.toFixed(3)}">\n${tests.join("\n")}\n  </testsuite>`;
  });
  const { summary } = result;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="${xml(`${result.agent}@${result.version} ${result.dataset.name}`)}" tests="${summary.total}" failures="${summary.failed - summary.errored}" errors="${summary.errored}" time="${(result.durationMs / 1000).toFixed(3)}">\n${suites.join("\n")}\n</testsuites>\n`;
}

function xml(text: string): string {
  return (
    text
      .replaceAll("&", "&amp;")
      .replaceAll("<", "&lt;")
      .replaceAll(">", "&gt;")
      .replaceAll('"', "&quot;")
      // XML 1.0 cannot carry most control characters at all.
      .split("")
      .filter((character) => {
        const code = character.charCodeAt(0);
        return code >= 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
      })
      .join("")
  );
}
