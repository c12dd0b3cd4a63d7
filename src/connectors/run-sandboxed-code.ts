import { spawn } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import { processTreeUsage } from "./process-tree-usage.ts";

export type CodeLanguage = "javascript" | "python";

/** The limits of one call; each breach ends it with that limit named in its result. */
export type CodeLimits = {
  wallMs: number;
  cpuSeconds: number;
  memoryBytes: number;
  /** Tasks (processes and threads) at once, inside the sandbox. */
  processes: number;
  maxOutputBytes: number;
  tmpBytes: number;
};

export type CodeLimit = "wall-time" | "cpu-time" | "memory" | "processes" | "output";

/** How a call ended: a breached limit is a result like any other, for the model to read. */
export type CodeResult = {
  /** The program's exit code; 128 + n when signal n ended it; null when Keel stopped it at a limit. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  limit: CodeLimit | null;
  /** How the code was isolated: "none" only where an operator allowed running without a sandbox. */
  isolation: "bubblewrap" | "none";
};

/** The programs a sandbox is made of; each default is where Debian installs it. */
export type SandboxPrograms = {
  bwrap: string;
  prlimit: string;
  /** Drops root to an unprivileged user before bwrap, when Keel runs as root. */
  setpriv: string;
  /** The Node.js binary JavaScript runs on: the one running Keel, so no other runtime need be installed. */
  node: string;
  /** Python, which must live under /usr: only /usr is visible in the sandbox. */
  python: string;
};

export function defaultSandboxPrograms(): SandboxPrograms {
  return {
    bwrap: "/usr/bin/bwrap",
    prlimit: "/usr/bin/prlimit",
    setpriv: "/usr/bin/setpriv",
    node: realpathSync(process.execPath),
    python: "/usr/bin/python3",
  };
}

/** The user the sandbox runs as when Keel runs as root: nobody, which owns no file Keel has. */
const NOBODY = "65534";
/** Where the Node.js binary appears inside the sandbox. */
const SANDBOX_NODE = "/opt/keel/node";
/** How often the memory and process watchdog reads the sandbox's processes. */
const WATCH_INTERVAL_MS = 10;

const MAIN_FILE = { javascript: "main.js", python: "main.py" } as const;

/**
 * Run one program in a fresh bubblewrap sandbox and collect its result under `limits`: new user, PID, network,
 * IPC, UTS and cgroup namespaces (so no network but an empty loopback), no environment, read-only /usr and nothing
 * else of the host's files, a private size-limited /tmp as the only writable place. CPU time, file size, process
 * count (and for Python the address space) are kernel limits set inside the sandbox with prlimit; resident memory
 * and the process count are also watched from outside, because Node.js cannot start under an address-space limit.
 * The sandbox is killed whole at any breach.
 */
export async function runSandboxedCode(options: {
  language: CodeLanguage;
  code: string;
  stdin?: string;
  limits: CodeLimits;
  programs: SandboxPrograms;
  signal?: AbortSignal;
}): Promise<CodeResult> {
  const { language, limits, programs } = options;
  const bwrap = [
    "--unshare-all",
    "--unshare-user",
    "--disable-userns",
    "--die-with-parent",
    "--new-session",
    "--clearenv",
    ...["--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/tmp", "--setenv", "LANG", "C.UTF-8"],
    ...["--ro-bind", "/usr", "/usr"],
    ...systemLinks(),
    ...(language === "javascript" ? ["--ro-bind", programs.node, SANDBOX_NODE] : []),
    ...["--size", String(limits.tmpBytes), "--tmpfs", "/tmp"],
    ...["--proc", "/proc", "--dev", "/dev", "--remount-ro", "/dev"],
    // The program arrives on descriptor 3 and is written into /tmp before the runtime starts.
    ...["--file", "3", `/tmp/${MAIN_FILE[language]}`],
    ...["--remount-ro", "/", "--chdir", "/tmp"],
    "--",
    programs.prlimit,
    ...kernelLimits(language, limits, { processes: true }),
    "--",
    ...runtimeCommand(language, limits, {
      node: SANDBOX_NODE,
      python: programs.python,
      main: `/tmp/${MAIN_FILE[language]}`,
    }),
  ];
  const [file, ...args] =
    process.getuid?.() === 0
      ? [programs.setpriv, "--reuid", NOBODY, "--regid", NOBODY, "--clear-groups", programs.bwrap, ...bwrap]
      : [programs.bwrap, ...bwrap];
  return await supervise({
    file: file!,
    args,
    cwd: "/",
    code: options.code,
    stdin: options.stdin ?? "",
    limits,
    language,
    isolation: "bubblewrap",
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

/**
 * Run one program as a plain child process, for an operator who allowed it where no sandbox can be made: a fresh
 * working folder, no inherited environment and the same limits where they can be enforced without namespaces (the
 * process count only by the watchdog: a kernel limit would count every process of Keel's user). It reaches
 * whatever Keel's user reaches.
 */
export async function runUnisolatedCode(options: {
  language: CodeLanguage;
  code: string;
  stdin?: string;
  limits: CodeLimits;
  programs: SandboxPrograms;
  signal?: AbortSignal;
}): Promise<CodeResult> {
  const { language, limits, programs } = options;
  const dir = await mkdtemp(join(tmpdir(), "keel-code-"));
  try {
    const main = join(dir, MAIN_FILE[language]);
    await writeFile(main, options.code);
    const runtime = runtimeCommand(language, limits, { node: programs.node, python: programs.python, main });
    const [file, ...args] = existsSync(programs.prlimit)
      ? [programs.prlimit, ...kernelLimits(language, limits, { processes: false }), "--", ...runtime]
      : runtime;
    return await supervise({
      file: file!,
      args,
      cwd: dir,
      code: null,
      stdin: options.stdin ?? "",
      limits,
      language,
      isolation: "none",
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The host's /lib, /bin… as the sandbox sees them: the same links into /usr, or read-only binds where not merged. */
function systemLinks(): string[] {
  const links: string[] = [];
  for (const path of ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]) {
    if (!existsSync(path)) continue;
    const target = realpathSync(path);
    if (target.startsWith("/usr/")) links.push("--symlink", `usr${target.slice("/usr".length)}`, path);
    else links.push("--ro-bind", path, path);
  }
  return links;
}

function kernelLimits(language: CodeLanguage, limits: CodeLimits, options: { processes: boolean }): string[] {
  return [
    // SIGXCPU at the limit, SIGKILL a second later for a program that catches it.
    `--cpu=${limits.cpuSeconds}:${limits.cpuSeconds + 1}`,
    `--fsize=${limits.tmpBytes}`,
    "--core=0",
    ...(options.processes ? [`--nproc=${limits.processes}`] : []),
    // V8 reserves far more address space than it uses, so Node.js cannot start under RLIMIT_AS: its memory is
    // limited by its heap flag and the watchdog.
    ...(language === "python" ? [`--as=${limits.memoryBytes}`] : []),
  ];
}

function runtimeCommand(
  language: CodeLanguage,
  limits: CodeLimits,
  paths: { node: string; python: string; main: string },
): string[] {
  if (language === "python") return [paths.python, "-I", "-S", paths.main];
  // The heap may grow to the whole limit, so that the watchdog, which counts the runtime's own memory too, stops a
  // growing heap before V8 thrashes its collector near its own limit; the flag keeps V8's default (gigabytes) off.
  const heapMiB = Math.floor(limits.memoryBytes / 1024 ** 2);
  return [paths.node, `--max-old-space-size=${heapMiB}`, paths.main];
}

/**
 * Start the process, feed it its program (on descriptor 3, when given) and its input, and collect its output
 * while enforcing the limits the kernel does not: wall time, output size, and resident memory and tasks across its
 * whole process tree. Never throws for what the program does.
 */
async function supervise(options: {
  file: string;
  args: string[];
  cwd: string;
  code: string | null;
  stdin: string;
  limits: CodeLimits;
  language: CodeLanguage;
  isolation: CodeResult["isolation"];
  signal?: AbortSignal;
}): Promise<CodeResult> {
  const { limits } = options;
  const child = spawn(options.file, options.args, {
    cwd: options.cwd,
    env: options.isolation === "none" ? { PATH: "/usr/bin:/bin", HOME: options.cwd, LANG: "C.UTF-8" } : {},
    stdio: ["pipe", "pipe", "pipe", options.code === null ? "ignore" : "pipe"],
    // Its own process group, so a breach kills everything it started (outside a sandbox, what did not leave it).
    detached: true,
  });
  let stopped: CodeLimit | "aborted" | null = null;
  const stop = (reason: CodeLimit | "aborted") => {
    stopped ??= reason;
    try {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  };

  const output = { stdout: [] as Buffer[], stderr: [] as Buffer[], bytes: 0 };
  const collect = (name: "stdout" | "stderr") => (chunk: Buffer) => {
    const room = limits.maxOutputBytes - output.bytes;
    if (chunk.length > room) {
      // Keep what fits, then stop a program that writes more than it may.
      if (room > 0) output[name].push(chunk.subarray(0, room));
      output.bytes = limits.maxOutputBytes;
      stop("output");
      return;
    }
    output[name].push(chunk);
    output.bytes += chunk.length;
  };
  child.stdout?.on("data", collect("stdout"));
  child.stderr?.on("data", collect("stderr"));
  // A program may exit before reading its input: a closed pipe is not an error of the call.
  for (const stream of [child.stdin, child.stdio[3]]) stream?.on("error", () => undefined);
  const program = child.stdio[3];
  if (options.code !== null && program && "end" in program) program.end(options.code);
  child.stdin?.end(options.stdin);

  const wall = setTimeout(() => stop("wall-time"), limits.wallMs);
  const watch = setInterval(() => {
    if (child.pid === undefined || stopped !== null) return;
    const usage = processTreeUsage(child.pid, { includeRoot: options.isolation === "none" });
    if (usage.rssBytes > limits.memoryBytes) stop("memory");
    else if (usage.tasks >= limits.processes) stop("processes");
  }, WATCH_INTERVAL_MS);
  const onAbort = () => stop("aborted");
  options.signal?.addEventListener("abort", onAbort, { once: true });

  const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>(
    (resolve) => {
      child.once("error", (error) => resolve({ code: null, signal: null, error }));
      child.once("close", (code, signal) => resolve({ code, signal }));
    },
  );
  clearTimeout(wall);
  clearInterval(watch);
  options.signal?.removeEventListener("abort", onAbort);
  if (ended.error) throw ended.error;
  if (stopped === "aborted") throw options.signal?.reason ?? new Error("aborted");

  const stdout = Buffer.concat(output.stdout).toString("utf8");
  const stderr = Buffer.concat(output.stderr).toString("utf8");
  const exitCode =
    stopped !== null ? null : (ended.code ?? 128 + (ended.signal ? constants.signals[ended.signal] : 0));
  return {
    exitCode,
    stdout,
    stderr,
    timedOut: stopped === "wall-time",
    limit: stopped ?? limitFromExit(options.language, exitCode, stderr),
    isolation: options.isolation,
  };
}

/**
 * A limit the kernel or the runtime enforced, read from how the program ended: SIGXCPU is the CPU limit; an
 * uncaught MemoryError (Python under its address-space limit) or V8's fatal heap error is the memory limit.
 */
function limitFromExit(language: CodeLanguage, exitCode: number | null, stderr: string): CodeLimit | null {
  if (exitCode === 128 + constants.signals.SIGXCPU) return "cpu-time";
  if (language === "python" && /^MemoryError\b/m.test(stderr.trimEnd().split("\n").at(-1) ?? ""))
    return "memory";
  if (language === "javascript" && /JavaScript heap out of memory/.test(stderr)) return "memory";
  return null;
}
