import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

/**
 * A crash test's worker process: the child script run with the test's environment and CRASH_AT, its stdout read
 * line by line (children print `RUN <id>`, `HANGING`, `END <status>`).
 */
export function launchCrashChild(
  script: string,
  args: readonly string[],
  crashAt: string,
): { process: ChildProcess; lines: AsyncIterator<string> } {
  const spawned = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, CRASH_AT: crashAt },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return { process: spawned, lines: createInterface({ input: spawned.stdout! })[Symbol.asyncIterator]() };
}

/** The rest of the next line that starts with `prefix`; fails if the child exits first. */
export async function nextLine(lines: AsyncIterator<string>, prefix: string): Promise<string> {
  for (;;) {
    const { value, done } = await lines.next();
    if (done) throw new Error(`child exited before printing ${prefix}`);
    if (value.startsWith(prefix)) return value.slice(prefix.length).trim();
  }
}
