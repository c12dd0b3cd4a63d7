import { spawn } from "node:child_process";
import { constants } from "node:os";
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

/** What a call gives the program. */
export type CodeCall = { code: string; stdin?: string; signal?: AbortSignal };

/**
 * A runtime started and waiting for its program, for exactly one call. Its limits apply from the call on (CPU time
 * from its start: the runtime's own start-up counts).
 */
export type StartedCode = {
  /** False once it ended before its call (killed from outside): start another. */
  readonly alive: boolean;
  run(call: CodeCall): Promise<CodeResult>;
  /** End it unused. */
  discard(): void;
};

/** How often the memory and process watchdog reads the sandbox's processes. */
const WATCH_INTERVAL_MS = 10;

/**
 * Start a runtime that waits for its program on descriptor 3, collecting its output from the start. Its call
 * feeds it the program and its input and enforces the limits the kernel does not: wall time, output size, and
 * resident memory and tasks across its whole process tree. Never throws for what the program does.
 */
export function startSupervised(options: {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  limits: CodeLimits;
  language: CodeLanguage;
  isolation: CodeResult["isolation"];
}): StartedCode {
  const { limits } = options;
  const child = spawn(options.file, options.args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ["pipe", "pipe", "pipe", "pipe"],
    // Its own process group, so a breach kills everything it started (outside a sandbox, what did not leave it).
    detached: true,
  });
  let stopped: CodeLimit | "aborted" | "discarded" | null = null;
  const stop = (reason: CodeLimit | "aborted" | "discarded") => {
    stopped ??= reason;
    try {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  };
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>(
    (resolve) => {
      child.once("error", (error) => resolve({ code: null, signal: null, error }));
      child.once("close", (code, signal) => resolve({ code, signal }));
    },
  );
  let exited = false;
  void ended.then(() => {
    exited = true;
  });

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
  // Absent when the program could not be started at all (its `error` then says why).
  const program = child.stdio[3] as (NodeJS.WritableStream & { unref?: () => void; ref?: () => void }) | null;
  const streams = [child.stdin, child.stdout, child.stderr, program] as ({
    on(event: "error", listener: () => void): unknown;
    unref?: () => void;
    ref?: () => void;
  } | null)[];
  // A program may exit before reading its input: a closed pipe is not an error of the call.
  for (const stream of streams) stream?.on("error", () => undefined);
  // Waiting for its call, it must not keep Keel's process alive.
  child.unref();
  for (const stream of streams) stream?.unref?.();

  return {
    get alive() {
      return !exited && stopped === null;
    },
    discard: () => stop("discarded"),
    async run(call) {
      child.ref();
      for (const stream of streams) stream?.ref?.();
      program?.end(call.code);
      child.stdin?.end(call.stdin ?? "");
      const wall = setTimeout(() => stop("wall-time"), limits.wallMs);
      const watch = setInterval(() => {
        if (child.pid === undefined || stopped !== null) return;
        const usage = processTreeUsage(child.pid, { includeRoot: options.isolation === "none" });
        if (usage.rssBytes > limits.memoryBytes) stop("memory");
        else if (usage.tasks >= limits.processes) stop("processes");
      }, WATCH_INTERVAL_MS);
      const onAbort = () => stop("aborted");
      if (call.signal?.aborted) onAbort();
      call.signal?.addEventListener("abort", onAbort, { once: true });
      const end = await ended;
      clearTimeout(wall);
      clearInterval(watch);
      call.signal?.removeEventListener("abort", onAbort);
      if (end.error) throw end.error;
      if (stopped === "aborted" || stopped === "discarded")
        throw call.signal?.reason ?? new Error("the sandbox was discarded");

      const stdout = Buffer.concat(output.stdout).toString("utf8");
      const stderr = Buffer.concat(output.stderr).toString("utf8");
      const exitCode =
        stopped !== null ? null : (end.code ?? 128 + (end.signal ? constants.signals[end.signal] : 0));
      return {
        exitCode,
        stdout,
        stderr,
        timedOut: stopped === "wall-time",
        limit: stopped ?? limitFromExit(options.language, exitCode, stderr),
        isolation: options.isolation,
      };
    },
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
