import { appendFileSync } from "node:fs";

/**
 * A node:test reporter that ends the output with the plain line `N passed, N failed, N skipped` CI counts. When
 * `KEEL_TEST_SUMMARY_FILE` is set (scripts/run-tests.ts runs the suite in more than one pass), it appends the counts
 * there instead, and the script prints the one line for all passes.
 */
export default async function* summaryReporter(
  source: AsyncIterable<{ type: string; data: Record<string, unknown> }>,
) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for await (const event of source) {
    const details = event.data.details as { type?: string } | undefined;
    // Suites report too; only count the tests themselves.
    if (details?.type === "suite") continue;
    if (event.type === "test:pass") {
      if (event.data.skip || event.data.todo) skipped += 1;
      else passed += 1;
    } else if (event.type === "test:fail") {
      failed += 1;
    }
  }
  const file = process.env.KEEL_TEST_SUMMARY_FILE;
  if (file) {
    appendFileSync(file, `${JSON.stringify({ passed, failed, skipped })}\n`);
    return;
  }
  yield `\n${passed} passed, ${failed} failed, ${skipped} skipped\n`;
}
