/**
 * `npm test`: starts a throwaway PostgreSQL when the machine has one (required under CI=true), runs every
 * `*.test.ts` with node's test runner, one test process per file, and ends with how long each of the slowest files
 * took, the files that used the most CPU (on Linux), and the line `N passed, N failed`.
 *
 *   npm test                                  every file
 *   npm test -- 'src/store/**\/*.test.ts'      a subset
 *   npm test -- --concurrency=2               files at once (default 3: most files wait on fsync, child
 *                                             processes and timers rather than the CPU)
 *   npm test -- --record-durations            write each file's time to scripts/test-durations.json
 *   npm test -- --file-timeout=900            seconds a file may take before its process group is stopped and
 *                                             the file counted as failed (default 900)
 *
 * Files start longest first (by scripts/test-durations.json), so the slow ones do not all land at the end. A file's
 * output is printed when it ends, as one block, followed by its time.
 */
import { spawn } from "node:child_process";
import { existsSync, globSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writePgliteTemplate } from "../src/store/open-store.ts";
import {
  findPostgresBinaries,
  startTemporaryPostgres,
  type TemporaryPostgres,
} from "../test/support/temporary-postgres.ts";

const args = process.argv.slice(2);
const patterns = args.filter((arg) => !arg.startsWith("--"));
const option = (name: string) =>
  args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3) ??
  (args.includes(`--${name}`) ? "" : undefined);
const concurrency = Number(option("concurrency") ?? process.env.KEEL_TEST_CONCURRENCY ?? 3);
if (!Number.isInteger(concurrency) || concurrency < 1) {
  console.error(`--concurrency must be a whole number of at least 1, got ${option("concurrency")}`);
  process.exit(1);
}
const fileTimeout = Number(option("file-timeout") ?? process.env.KEEL_TEST_FILE_TIMEOUT ?? 900);
if (!Number.isFinite(fileTimeout) || fileTimeout <= 0) {
  console.error(`--file-timeout must be a number of seconds above 0, got ${option("file-timeout")}`);
  process.exit(1);
}
/** Seconds one test (or hook) may take: a third of a file's, at most four minutes. */
const testTimeout = Math.min(240, fileTimeout / 3);
const durationsFile = new URL("./test-durations.json", import.meta.url).pathname;

const files = (
  patterns.length > 0 ? patterns : ["src/**/*.test.ts", "examples/**/*.test.ts", "test/**/*.test.ts"]
)
  .flatMap((pattern) => globSync(pattern))
  .filter((file) => !file.includes("node_modules"))
  .sort();

const scratch = mkdtempSync(join(tmpdir(), "keel-tests-"));
const env = { ...process.env };
// Every event the interpreter builds is parsed against its schema in the suite, in test processes (preloaded
// check-typed-events.ts) and the `keel` processes they start, where production takes it as given
// (src/store/validate-new-events.ts).
env.KEEL_CHECK_EVENTS ??= "1";
// Every test process and every `keel` process a test starts compiles the same few hundred modules: V8's compile
// cache, shared by them all, takes about a third off each start's CPU.
env.NODE_COMPILE_CACHE ??= join(scratch, "compile-cache");
// A migrated PGlite cluster every new PGlite store starts from, instead of each running initdb (about 3 s of CPU
// each; the suite opens hundreds). Made while PostgreSQL starts.
let template: Promise<void> = Promise.resolve();
if (!env.KEEL_PGLITE_TEMPLATE) {
  env.KEEL_PGLITE_TEMPLATE = join(scratch, "pglite-template.tar");
  template = writePgliteTemplate(env.KEEL_PGLITE_TEMPLATE);
}
let postgres: TemporaryPostgres | null = null;
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

/** Seconds each file took when last recorded; a file not in it is guessed at the median. */
const recorded: Record<string, number> = existsSync(durationsFile)
  ? (JSON.parse(readFileSync(durationsFile, "utf8")) as Record<string, number>)
  : {};
const known = Object.values(recorded).sort((a, b) => a - b);
const guess = known[Math.floor(known.length / 2)] ?? 0;
const longestFirst = (a: string, b: string) =>
  (recorded[b] ?? guess) - (recorded[a] ?? guess) || a.localeCompare(b);

// The chaos tests stop databases and kill servers, and time what they see: they run after the rest, one at a time,
// so another test file's servers cannot take a port they freed or starve them of the CPU they measure against.
const chaos = files.filter((file) => file.startsWith("test/chaos/"));
const passes: [string[], number][] = [
  [files.filter((file) => !chaos.includes(file)).sort(longestFirst), concurrency],
  [chaos.sort(longestFirst), 1],
];
await template;
/** Clock ticks per second of /proc's times: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS = 100;

/**
 * CPU seconds (user and system) of the children this process has reaped, and theirs, from /proc/self/stat; null
 * where there is no /proc. Fields after the command's closing parenthesis start at the state (field 3): cutime and
 * cstime are fields 16 and 17.
 */
function reapedCpuSeconds(): number | null {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

const summaryFile = join(scratch, "summary.jsonl");
const took: Record<string, number> = {};
/** CPU seconds each file's processes used (the test process and every child it waited for), where /proc tells. */
const cpu: Record<string, number> = {};
let reapedBefore = reapedCpuSeconds();
const failedFiles: string[] = [];
const stoppedFiles: string[] = [];
/** Files running now, by when they started: a file still going after a while is named, so a hang shows where. */
const running = new Map<string, number>();
const heartbeat = setInterval(() => {
  const now = performance.now();
  const long = [...running].filter(([, started]) => now - started > 120_000);
  if (long.length > 0) {
    const names = long.map(([file, started]) => `${file} (${((now - started) / 1000).toFixed(0)} s)`);
    console.log(`… still running: ${names.join(", ")}`);
  }
}, 120_000);
heartbeat.unref();
/** Process groups of the files running now: stopped with this process, since they do not share its group. */
const groups = new Set<number>();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    for (const group of groups) {
      try {
        process.kill(-group, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    void (postgres?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

/** Run one file in its own `node --test` process; print its output as one block when it ends, then its time. */
async function runFile(file: string): Promise<void> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      "--import=./test/support/use-pglite-template.ts",
      "--import=./test/support/check-typed-events.ts",
      "--test",
      "--test-reporter=spec",
      "--test-reporter-destination=stdout",
      "--test-reporter=./scripts/summary-reporter.ts",
      "--test-reporter-destination=stdout",
      // A test that hangs fails by name after this, and the file goes on; the file's own limit is the backstop.
      `--test-timeout=${Math.round(testTimeout * 1000)}`,
      file,
    ],
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...env, KEEL_TEST_SUMMARY_FILE: summaryFile },
      // Its own process group, so a file that hangs is stopped with every server and child it started.
      detached: true,
    },
  );
  running.set(file, started);
  if (child.pid !== undefined) groups.add(child.pid);
  const output: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => output.push(chunk));
  child.stderr.on("data", (chunk: Buffer) => output.push(chunk));
  let stopped = false;
  const stopGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // The group has already gone.
    }
  };
  const limit = setTimeout(() => {
    stopped = true;
    stopGroup("SIGTERM");
    setTimeout(() => stopGroup("SIGKILL"), 10_000).unref();
  }, fileTimeout * 1000);
  // Read as the child is reaped: what the reaped children used grows by its CPU then (and by any other file's
  // reaped at the same moment, which the files' own times would show).
  child.on("exit", () => {
    const reaped = reapedCpuSeconds();
    if (reaped !== null && reapedBefore !== null) cpu[file] = reaped - reapedBefore;
    reapedBefore = reaped;
  });
  const exitCode = await new Promise<number>((resolve) => child.on("close", (exit) => resolve(exit ?? 1)));
  clearTimeout(limit);
  running.delete(file);
  if (child.pid !== undefined) groups.delete(child.pid);
  const seconds = (performance.now() - started) / 1000;
  took[file] = seconds;
  if (exitCode !== 0 || stopped) failedFiles.push(file);
  if (stopped) stoppedFiles.push(file);
  process.stdout.write(Buffer.concat(output));
  const verdict = stopped
    ? `✖ ${file} stopped: still running after ${fileTimeout} s`
    : `${exitCode === 0 ? "✔" : "✖"} ${file}`;
  const used = cpu[file] === undefined ? "" : `, ${cpu[file].toFixed(1)} s of CPU`;
  console.log(`${verdict} took ${seconds.toFixed(1)} s${used}\n`);
}

const startedAll = performance.now();
for (const [group, slots] of passes) {
  const queue = [...group];
  await Promise.all(
    Array.from({ length: Math.min(slots, queue.length) }, async () => {
      for (let file = queue.shift(); file !== undefined; file = queue.shift()) await runFile(file);
    }),
  );
}
await postgres?.stop();

const slowest = Object.entries(took)
  .sort(([, a], [, b]) => b - a)
  .slice(0, 15);
console.log(
  `\nslowest files (of ${files.length}, ${concurrency} at a time, ${((performance.now() - startedAll) / 1000).toFixed(0)} s in all):`,
);
for (const [file, seconds] of slowest) console.log(`${seconds.toFixed(1).padStart(7)} s  ${file}`);
const cpuTotal = Object.values(cpu).reduce((sum, seconds) => sum + seconds, 0);
if (cpuTotal > 0) {
  const wall = Object.values(took).reduce((sum, seconds) => sum + seconds, 0);
  console.log(
    `\nmost CPU (${cpuTotal.toFixed(0)} s of CPU in the files' processes over ${wall.toFixed(0)} s of file time):`,
  );
  for (const [file, seconds] of Object.entries(cpu)
    .sort(([, a], [, b]) => b - a)
    .slice(0, 15))
    console.log(`${seconds.toFixed(1).padStart(7)} s  ${file}`);
}
if (option("record-durations") !== undefined) {
  const rounded = Object.fromEntries(
    Object.entries({ ...recorded, ...took })
      .filter(([file]) => existsSync(file))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([file, seconds]) => [file, Math.round(seconds * 10) / 10]),
  );
  writeFileSync(durationsFile, `${JSON.stringify(rounded, null, 2)}\n`);
}

const totals = { passed: 0, failed: 0, skipped: 0 };
if (existsSync(summaryFile)) {
  for (const line of readFileSync(summaryFile, "utf8").split("\n").filter(Boolean)) {
    const counts = JSON.parse(line) as typeof totals;
    totals.passed += counts.passed;
    totals.failed += counts.failed;
    totals.skipped += counts.skipped;
  }
}
rmSync(scratch, { recursive: true, force: true });
// A file stopped for its time had no chance to count its own failures: it counts as one.
totals.failed += stoppedFiles.length;
if (failedFiles.length > 0) console.log(`\nfiles that failed: ${failedFiles.join(", ")}`);
console.log(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(failedFiles.length > 0 ? 1 : 0);
