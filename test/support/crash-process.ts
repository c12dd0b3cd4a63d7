import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** Preloaded into each child, as into the test processes: a new PGlite store unpacks the run's template, not initdb. */
const pgliteTemplate = new URL("./use-pglite-template.ts", import.meta.url).pathname;

/**
 * A crash test's worker process: the child script run with the test's environment and CRASH_AT, its stdout read
 * line by line (children print `RUN <id>`, `HANGING`, `END <status>`).
 */
export function launchCrashChild(
  script: string,
  args: readonly string[],
  crashAt: string,
): { process: ChildProcess; lines: AsyncIterator<string> } {
  const spawned = spawn(process.execPath, [`--import=${pgliteTemplate}`, script, ...args], {
    env: { ...process.env, CRASH_AT: crashAt },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return { process: spawned, lines: createInterface({ input: spawned.stdout! })[Symbol.asyncIterator]() };
}

/**
 * The rest of the next line that starts with `prefix`; fails if the child exits first, or prints no such line within
 * `timeoutMs` (naming the line it waited for and what the child printed meanwhile, rather than hanging the file).
 */
export async function nextLine(
  lines: AsyncIterator<string>,
  prefix: string,
  timeoutMs = 150_000,
): Promise<string> {
  const skipped: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const printed = skipped.length > 0 ? skipped.join(" | ") : "nothing";
      reject(
        new Error(
          `child printed no ${prefix.trim()} line within ${timeoutMs / 1000} s; it printed: ${printed}`,
        ),
      );
    }, timeoutMs);
  });
  try {
    for (;;) {
      const { value, done } = await Promise.race([lines.next(), timedOut]);
      if (done) throw new Error(`child exited before printing ${prefix}`);
      if (value.startsWith(prefix)) return value.slice(prefix.length).trim();
      skipped.push(value);
    }
  } finally {
    clearTimeout(timer);
  }
}
