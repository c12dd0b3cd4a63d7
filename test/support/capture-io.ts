import type { CliIo } from "../../src/cli/cli-io.ts";

/** A `keel` command's output captured for a test, with the environment it should see. */
export function captureIo(env: Record<string, string> = {}): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    out: (text) => stdout.push(text),
    err: (text) => stderr.push(text),
    env,
    isTty: false,
    stdout,
    stderr,
  };
}
