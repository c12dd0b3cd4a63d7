import { existsSync, realpathSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sandboxNodeBinary } from "./sandbox-node-binary.ts";
import {
  type CodeCall,
  type CodeLanguage,
  type CodeLimits,
  type CodeResult,
  type StartedCode,
  startSupervised,
} from "./supervise-code.ts";

export type {
  CodeCall,
  CodeLanguage,
  CodeLimit,
  CodeLimits,
  CodeResult,
  StartedCode,
} from "./supervise-code.ts";

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

/** Debian's paths for bwrap, prlimit, setpriv and Python, and the Node.js binary running Keel. */
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

/**
 * How each runtime starts before its program exists: it reads the program from descriptor 3 (blocking until Keel
 * writes it), saves it as main.js or main.py in its working folder and runs it as its main file. A sandbox can so
 * be started ahead of its call; the program's own lines, errors and `require.main`/`__name__` are as if run directly.
 */
const BOOTSTRAP = {
  javascript: [
    'const fs = require("node:fs");',
    'const source = fs.readFileSync(3, "utf8");',
    "fs.closeSync(3);",
    'const main = require("node:path").resolve("main.js");',
    "fs.writeFileSync(main, source);",
    "process.argv[1] = main;",
    'require("node:module").runMain();',
  ].join(" "),
  python: [
    "import os",
    'with os.fdopen(3, "rb") as program: source = program.read()',
    'main = os.path.abspath("main.py")',
    'with open(main, "wb") as file: file.write(source)',
    "import sys",
    "sys.argv = [main]",
    "del os, sys, program, file",
    "__file__ = main",
    'exec(compile(source, main, "exec"))',
  ].join("\n"),
} as const;

/**
 * Start a fresh bubblewrap sandbox whose runtime waits for its program: new user, PID, network, IPC, UTS and
 * cgroup namespaces (so no network but an empty loopback), no environment, read-only /usr and nothing else of the
 * host's files, a private size-limited /tmp as the only writable place. CPU time, file size, process count (and for
 * Python the address space) are kernel limits set inside the sandbox with prlimit; resident memory and the process
 * count are also watched from outside, because Node.js cannot start under an address-space limit. The sandbox is
 * killed whole at any breach.
 */
export function startSandboxedCode(options: {
  language: CodeLanguage;
  limits: CodeLimits;
  programs: SandboxPrograms;
}): StartedCode {
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
    ...(language === "javascript" ? ["--ro-bind", nodeFor(programs.node), SANDBOX_NODE] : []),
    ...["--size", String(limits.tmpBytes), "--tmpfs", "/tmp"],
    ...["--proc", "/proc", "--dev", "/dev", "--remount-ro", "/dev"],
    ...["--remount-ro", "/", "--chdir", "/tmp"],
    "--",
    programs.prlimit,
    ...kernelLimits(language, limits, { processes: true }),
    "--",
    ...runtimeCommand(language, limits, { node: SANDBOX_NODE, python: programs.python }),
  ];
  const [file, ...args] =
    process.getuid?.() === 0
      ? [programs.setpriv, "--reuid", NOBODY, "--regid", NOBODY, "--clear-groups", programs.bwrap, ...bwrap]
      : [programs.bwrap, ...bwrap];
  return startSupervised({ file: file!, args, cwd: "/", env: {}, limits, language, isolation: "bubblewrap" });
}

/** Run one program in a fresh sandbox started for it (see `startSandboxedCode`). */
export async function runSandboxedCode(options: {
  language: CodeLanguage;
  limits: CodeLimits;
  programs: SandboxPrograms;
  call: CodeCall;
}): Promise<CodeResult> {
  return await startSandboxedCode(options).run(options.call);
}

/**
 * Run one program as a plain child process, for an operator who allowed it where no sandbox can be made: a fresh
 * working folder, no inherited environment and the same limits where they can be enforced without namespaces (the
 * process count only by the watchdog: a kernel limit would count every process of Keel's user). It reaches
 * whatever Keel's user reaches.
 */
export async function runUnisolatedCode(options: {
  language: CodeLanguage;
  limits: CodeLimits;
  programs: SandboxPrograms;
  call: CodeCall;
}): Promise<CodeResult> {
  const { language, limits, programs } = options;
  const dir = await mkdtemp(join(tmpdir(), "keel-code-"));
  try {
    const runtime = runtimeCommand(language, limits, { node: programs.node, python: programs.python });
    const [file, ...args] = existsSync(programs.prlimit)
      ? [programs.prlimit, ...kernelLimits(language, limits, { processes: false }), "--", ...runtime]
      : runtime;
    return await startSupervised({
      file: file!,
      args,
      cwd: dir,
      env: { PATH: "/usr/bin:/bin", HOME: dir, LANG: "C.UTF-8" },
      limits,
      language,
      isolation: "none",
    }).run(options.call);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The Node.js binary bwrap binds: as root, bwrap runs as nobody, who may not reach the path Keel runs from. */
const nodeFor = (path: string) => (process.getuid?.() === 0 ? sandboxNodeBinary(path) : path);

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

function runtimeCommand(language: CodeLanguage, limits: CodeLimits, paths: { node: string; python: string }) {
  if (language === "python") return [paths.python, "-I", "-S", "-c", BOOTSTRAP.python];
  // The heap may grow to the whole limit, so that the watchdog, which counts the runtime's own memory too, stops a
  // growing heap before V8 thrashes its collector near its own limit; the flag keeps V8's default (gigabytes) off.
  const heapMiB = Math.floor(limits.memoryBytes / 1024 ** 2);
  return [paths.node, `--max-old-space-size=${heapMiB}`, "-e", BOOTSTRAP.javascript];
}
