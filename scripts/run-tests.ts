/**
 * `npm test`: starts a throwaway PostgreSQL when the machine has one (required under CI=true), runs every
 * `*.test.ts` with node's test runner, and ends with the line `N passed, N failed`.
 */
import { spawn } from "node:child_process";
import { globSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  findPostgresBinaries,
  startTemporaryPostgres,
  type TemporaryPostgres,
} from "../test/support/temporary-postgres.ts";

const patterns = process.argv.slice(2).filter((arg) => !arg.startsWith("--"));
const files = (
  patterns.length > 0 ? patterns : ["src/**/*.test.ts", "examples/**/*.test.ts", "test/**/*.test.ts"]
)
  .flatMap((pattern) => globSync(pattern))
  .filter((file) => !file.includes("node_modules"))
  .sort();

let postgres: TemporaryPostgres | null = null;
const env = { ...process.env };
if (!env.KEEL_TEST_DATABASE_URL) {
  if (findPostgresBinaries()) {
    postgres = await startTemporaryPostgres();
    env.KEEL_TEST_DATABASE_URL = postgres.url;
  } else if (process.env.CI === "true") {
    console.error(
      "CI=true but PostgreSQL is not installed: .ci/run must install it (apt-get install -y postgresql)",
    );
    process.exit(1);
  } else {
    console.warn(
      "PostgreSQL is not installed: PostgreSQL tests are skipped (install postgresql to run them)",
    );
  }
}

// The chaos tests stop databases and kill servers, and time what they see: they run after the rest, one at a time,
// so another test file's servers cannot take a port they freed or starve them of the CPU they measure against.
const chaos = files.filter((file) => file.startsWith("test/chaos/"));
const passes: [string[], number][] = [
  [files.filter((file) => !chaos.includes(file)), 2],
  [chaos, 1],
];
const summaryFile = join(mkdtempSync(join(tmpdir(), "keel-tests-")), "summary.jsonl");
let code = 0;
for (const [group, concurrency] of passes) {
  if (group.length === 0) continue;
  const child = spawn(
    process.execPath,
    [
      "--test",
      `--test-concurrency=${concurrency}`,
      "--test-reporter=spec",
      "--test-reporter-destination=stdout",
      "--test-reporter=./scripts/summary-reporter.ts",
      "--test-reporter-destination=stdout",
      ...group,
    ],
    { stdio: "inherit", env: { ...env, KEEL_TEST_SUMMARY_FILE: summaryFile } },
  );
  const exitCode = await new Promise<number>((resolve) => child.on("exit", (exit) => resolve(exit ?? 1)));
  code = Math.max(code, exitCode);
}
await postgres?.stop();
const totals = { passed: 0, failed: 0, skipped: 0 };
for (const line of readFileSync(summaryFile, "utf8").split("\n").filter(Boolean)) {
  const counts = JSON.parse(line) as typeof totals;
  totals.passed += counts.passed;
  totals.failed += counts.failed;
  totals.skipped += counts.skipped;
}
console.log(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(code);
