import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

const entry = new URL("../../src/cli/main.ts", import.meta.url).pathname;

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
  for await (const line of createInterface({ input: child.stdout! })) {
    const match = /^Keel is running at (\S+)/.exec(line);
    if (match) url = match[1]!;
    if (line.startsWith("stop:")) break;
  }
  if (!url) throw new Error(`keel serve exited (code ${child.exitCode}) before it listened`);
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
