import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A PostgreSQL server started from the machine's binaries for one test run, on a free loopback port. */
export type TemporaryPostgres = {
  url: string;
  /** Shut the server down for good and delete its data directory. */
  stop(): Promise<void>;
  /**
   * Shut the server down (fast mode: open sessions are terminated with 57P01, as in a restart or failover) and
   * keep its data directory and port, for `restart`.
   */
  halt(): Promise<void>;
  /** Start the halted server again on the same data directory and port, and wait until it accepts connections. */
  restart(): Promise<void>;
};

/** Directory of Debian's PostgreSQL binaries (initdb, postgres), newest first, or null when none is installed. */
export function findPostgresBinaries(): string | null {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((name) => existsSync(join(root, name, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], "bin") : null;
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** initdb refuses to run as root, so as root the cluster belongs to the `postgres` system user. */
function asDatabaseUser(command: string, args: string[]): [string, string[]] {
  const isRoot = process.getuid?.() === 0;
  return isRoot ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, args];
}

/** How the throwaway server trades safety for speed. */
export type TemporaryPostgresOptions = {
  /**
   * Keep PostgreSQL's durable defaults (fsync, synchronous_commit, full_page_writes all on), so a commit
   * waits for its WAL flush, as in production. Benchmarks need this; tests do not and run faster without.
   */
  durable?: boolean;
  /** More server settings, each passed as `-c name=value` (e.g. `shared_preload_libraries`). */
  settings?: Readonly<Record<string, string>>;
};

export async function startTemporaryPostgres(
  options: TemporaryPostgresOptions = {},
): Promise<TemporaryPostgres> {
  const bin = findPostgresBinaries();
  if (!bin)
    throw new Error(
      "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); apt-get install postgresql",
    );
  const dir = mkdtempSync(join(tmpdir(), "keel-pg-"));
  chmodSync(dir, 0o777);
  const dataDir = join(dir, "data");
  if (process.getuid?.() === 0) execFileSync("chown", ["postgres", dir]);
  const [initCommand, initArgs] = asDatabaseUser(join(bin, "initdb"), [
    "-D",
    dataDir,
    "-U",
    "keel",
    "--auth=trust",
    "--no-sync",
    "-E",
    "UTF8",
  ]);
  execFileSync(initCommand, initArgs, { stdio: "ignore" });
  const port = await freePort();
  const unsafeSpeedups = options.durable
    ? []
    : ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"];
  const [command, args] = asDatabaseUser(join(bin, "postgres"), [
    "-D",
    dataDir,
    "-p",
    String(port),
    "-k",
    dir,
    "-c",
    "listen_addresses=127.0.0.1",
    ...unsafeSpeedups,
    "-c",
    "max_connections=300",
    ...Object.entries(options.settings ?? {}).flatMap(([name, value]) => ["-c", `${name}=${value}`]),
  ]);
  const url = `postgres://keel@127.0.0.1:${port}/postgres`;
  const isReady = join(bin, "pg_isready");
  let server = await launch();

  /** Start postgres and wait until it accepts connections. */
  async function launch(): Promise<ChildProcess> {
    // Its own process group, so stopping reaches postgres itself and not only the runuser wrapper.
    const started: ChildProcess = spawn(command, args, {
      stdio: ["ignore", "ignore", "pipe"],
      detached: true,
    });
    let log = "";
    started.stderr?.on("data", (chunk: Buffer) => {
      log += chunk.toString();
    });
    const since = Date.now();
    for (;;) {
      try {
        execFileSync(isReady, ["-h", "127.0.0.1", "-p", String(port), "-U", "keel"], { stdio: "ignore" });
        return started;
      } catch {
        if (started.exitCode !== null || Date.now() - since > 30_000) {
          throw new Error(`PostgreSQL did not start: ${log.slice(-2000)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** Fast shutdown: SIGINT to the postmaster ends every session and waits for nothing. */
  async function shutDown(): Promise<void> {
    if (server.exitCode !== null || server.signalCode !== null) return;
    const exited = new Promise((resolve) => server.once("exit", resolve));
    process.kill(-server.pid!, "SIGINT");
    await exited;
  }

  return {
    url,
    async stop() {
      await shutDown();
      rmSync(dir, { recursive: true, force: true });
    },
    halt: shutDown,
    async restart() {
      await shutDown();
      server = await launch();
    },
  };
}
