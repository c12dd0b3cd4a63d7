import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";

/** A benchmark child process and the first line it printed (its URL). */
export type BenchChild = { process: ChildProcess; url: string; stop(): Promise<void> };

/** Start `bench/<script>` under the same Node and wait for the URL it prints. */
export async function startChild(script: string, args: readonly string[] = []): Promise<BenchChild> {
  const child = spawn(
    process.execPath,
    [
      ...(process.env.KEEL_BENCH_PROFILE && script.includes("keel")
        ? ["--cpu-prof", "--cpu-prof-dir=/tmp/keelprof"]
        : []),
      new URL(script, import.meta.url).pathname,
      ...args,
    ],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once("line", (line) => resolve(line.trim()));
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code} before printing its URL`)));
  });
  return {
    process: child,
    url,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** Resident set size of a process in MiB, from /proc (Linux). */
export async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kib / 1024;
}

/** CPU time (user + system) a process has used so far, in milliseconds, from /proc (Linux). */
export async function processCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1_000) / 100;
}
