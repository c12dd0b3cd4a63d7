/**
 * `npm test`: starts a throwaway PostgreSQL when the machine has one (required under CI=true), runs every
 * `*.test.ts` with node's test runner, and ends with the line `N passed, N failed`.
 */
import { spawn } from "node:child_process";
import { globSync } from "node:fs";
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

const child = spawn(
  process.execPath,
  [
    "--test",
    "--test-concurrency=2",
    "--test-reporter=spec",
    "--test-reporter-destination=stdout",
    "--test-reporter=./scripts/summary-reporter.ts",
    "--test-reporter-destination=stdout",
    ...files,
  ],
  { stdio: "inherit", env },
);
const code = await new Promise<number>((resolve) => child.on("exit", (exitCode) => resolve(exitCode ?? 1)));
await postgres?.stop();
process.exit(code);
