import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

const entry = new URL("../../src/cli/main.ts", import.meta.url).pathname;

/** How long `keel serve` may take to listen: minutes on a loaded machine opening a large store, never forever. */
const STARTUP_LIMIT_MS = 120_000;

/** A `keel serve` process of a test, and how to stop it gently or kill it. */
export type KeelServer = {
  process: ChildProcess;
  url: string;
  /** Stop it with a signal and wait until it has exited (at once if it already has). */
  stop(signal?: NodeJS.Signals): Promise<void>;
};

/**
 * Start `keel serve` as its own process on a free port, on a PGlite data directory or (with `databaseUrl`) on
 * PostgreSQL, and resolve once it listens. `args` are extra flags (`--packages`, `--lease-ttl`, …).
 */
export async function startKeelServer(options: {
  dataDir?: string;
  databaseUrl?: string;
  args?: readonly string[];
  env?: NodeJS.ProcessEnv;
}): Promise<KeelServer> {
  const args = ["serve", "--port", "0", ...(options.dataDir ? ["--data-dir", options.dataDir] : [])];
  const child = spawn(process.execPath, [entry, ...args, ...(options.args ?? [])], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, ...options.env, DATABASE_URL: options.databaseUrl ?? "" },
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let url = "";
  // A server that neither listens nor exits fails the test by name rather than holding it until the run's limit.
  const startLimit = setTimeout(() => child.kill("SIGKILL"), STARTUP_LIMIT_MS);
  let printed = "";
  for await (const line of createInterface({ input: child.stdout! })) {
    printed += `${line}\n`;
    const match = /^Keel is running at (\S+)/.exec(line);
    if (match) url = match[1]!;
    if (line.startsWith("stop:")) break;
  }
  clearTimeout(startLimit);
  if (!url || child.signalCode === "SIGKILL")
    throw new Error(
      child.signalCode === "SIGKILL"
        ? `keel serve did not listen within ${STARTUP_LIMIT_MS / 1000} s; it printed:\n${printed}`
        : `keel serve exited (code ${child.exitCode}) before it listened; it printed:\n${printed}`,
    );
  // Keep reading so a chatty server never blocks on a full pipe.
  child.stdout!.resume();
  return {
    process: child,
    url,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
