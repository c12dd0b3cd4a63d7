import { z } from "zod";
import { KeelError } from "../errors/index.ts";
import type { CodeSection, CodeToolSpec } from "../spec/index.ts";
import type { Tool, ToolContext } from "../tools/index.ts";
import {
  type CodeLanguage,
  type CodeLimits,
  type CodeResult,
  defaultSandboxPrograms,
  runSandboxedCode,
  runUnisolatedCode,
  type SandboxPrograms,
  type StartedCode,
  startSandboxedCode,
} from "./run-sandboxed-code.ts";

const CodeInput = z.strictObject({
  code: z
    .string()
    .min(1)
    .max(256 * 1024)
    .describe(
      "The whole program, run as the main file in a fresh sandbox; print what you want to read back.",
    ),
  stdin: z
    .string()
    .max(1024 * 1024)
    .optional()
    .describe("Text the program reads on standard input."),
});

type CodeInput = z.output<typeof CodeInput>;

/** Whether a sandbox can be made for a language here, and if not, why. */
export type SandboxAvailability = { available: true } | { available: false; reason: string };

/** Time a start-up probe may take before the sandbox counts as unavailable (a loaded machine starts slowly). */
const PROBE_TIMEOUT_MS = 30_000;

const probes = new Map<string, Promise<SandboxAvailability>>();

/**
 * Find out, once per process for each set of programs and language, whether a sandbox can be made: the programs
 * exist and an empty program runs in one and exits 0 (user namespaces may be disabled, or a container may forbid
 * them).
 */
export function probeSandbox(
  programs: SandboxPrograms,
  language: CodeLanguage,
): Promise<SandboxAvailability> {
  const key = JSON.stringify([programs, language]);
  let probe = probes.get(key);
  if (!probe) {
    probe = runSandboxedCode({
      language,
      call: { code: " " },
      limits: {
        wallMs: PROBE_TIMEOUT_MS,
        cpuSeconds: 10,
        memoryBytes: 256 * 1024 ** 2,
        processes: 32,
        maxOutputBytes: 4_096,
        tmpBytes: 1024 ** 2,
      },
      programs,
    }).then(
      (result): SandboxAvailability =>
        result.exitCode === 0
          ? { available: true }
          : {
              available: false,
              reason: `an empty ${language} program in the sandbox ended ${result.limit ?? `with exit code ${result.exitCode}`}: ${result.stderr.trim().slice(0, 300) || "(no output)"}`,
            },
      (error: unknown): SandboxAvailability => ({
        available: false,
        reason: `the sandbox could not be started: ${error instanceof Error ? error.message : String(error)}`,
      }),
    );
    probes.set(key, probe);
  }
  return probe;
}

/** An agent's code tools, and how to end the sandboxes they keep started. */
export type CodeToolset = { tools: Tool<CodeInput, CodeResult>[]; close(): Promise<void> };

/**
 * Bind an agent's code tools. Each call runs the model's program in a fresh sandbox; where none can be made, the
 * call is refused (`sandbox_unavailable`) unless the section allows running unisolated, which is logged here, at
 * startup, and marked on every result (`isolation: "none"`) so the journal shows it.
 */
export async function bindCodeTools(options: {
  specFile: string;
  section: CodeSection;
  /** Where bwrap, prlimit, setpriv and the runtimes are (Debian's paths and the running Node.js unless given). */
  programs?: Partial<SandboxPrograms>;
  log: (message: string) => void;
}): Promise<CodeToolset> {
  const programs = { ...defaultSandboxPrograms(), ...options.programs };
  const { section } = options;
  const tools = section.tools.map((tool) => new CodeTool(tool, section, programs));
  for (const language of new Set(section.tools.map((tool) => tool.language))) {
    const probe = await probeSandbox(programs, language);
    const names = section.tools.filter((tool) => tool.language === language).map((tool) => tool.name);
    if (probe.available) {
      for (const tool of tools) if (tool.language === language) tool.prestart();
      continue;
    }
    options.log(
      section.sandbox === "unsafe-allow-unisolated"
        ? `UNSAFE: ${options.specFile}: code tools ${names.join(", ")} will run ${language} WITHOUT ISOLATION (code.sandbox: unsafe-allow-unisolated), with the files, network and user of this process: ${probe.reason}`
        : `${options.specFile}: code tools ${names.join(", ")} will refuse every call (sandbox_unavailable): ${probe.reason}`,
    );
  }
  return {
    tools,
    close: async () => {
      for (const tool of tools) tool.discardPrestarted();
    },
  };
}

/** One language with its limits, as a Keel tool: it reads no host file and reaches no network, so it has no side effect. */
class CodeTool implements Tool<CodeInput, CodeResult> {
  readonly name: string;
  readonly description: string;
  readonly input = CodeInput;
  readonly sideEffect = false;
  readonly timeoutMs: number;
  readonly dataClasses?: readonly string[];
  readonly #spec: CodeToolSpec;
  readonly #section: CodeSection;
  readonly #programs: SandboxPrograms;
  readonly #limits: CodeLimits;
  /** Sandboxes started ahead of calls, each for one call. */
  readonly #ready: StartedCode[] = [];

  constructor(spec: CodeToolSpec, section: CodeSection, programs: SandboxPrograms) {
    this.name = spec.name;
    this.description = spec.description;
    // The sandbox stops the program at its own wall-time limit and reports it; the tool's timeout is only a backstop.
    this.timeoutMs = spec.timeout + 5_000;
    if (spec.dataClasses) this.dataClasses = spec.dataClasses;
    this.#spec = spec;
    this.#section = section;
    this.#programs = programs;
    this.#limits = {
      wallMs: spec.timeout,
      cpuSeconds: Math.ceil(spec.cpuTime / 1_000),
      memoryBytes: spec.memory,
      processes: spec.processes,
      maxOutputBytes: spec.maxOutputBytes,
      tmpBytes: spec.tmpSize,
    };
  }

  get language(): CodeLanguage {
    return this.#spec.language;
  }

  /**
   * Keep `prestarted` fresh sandboxes waiting, so that a call skips the sandbox's and the runtime's start. They hold
   * no program and no input until their call, and each serves one call only.
   */
  prestart(): void {
    while (this.#ready.length < this.#spec.prestarted)
      this.#ready.push(
        startSandboxedCode({ language: this.#spec.language, limits: this.#limits, programs: this.#programs }),
      );
  }

  /** End the sandboxes waiting for calls (when Keel closes; they would also die with its process). */
  discardPrestarted(): void {
    for (const sandbox of this.#ready.splice(0)) sandbox.discard();
  }

  async execute(input: CodeInput, context: ToolContext): Promise<CodeResult> {
    const call = {
      code: input.code,
      ...(input.stdin === undefined ? {} : { stdin: input.stdin }),
      signal: context.signal,
    };
    const run = { language: this.#spec.language, limits: this.#limits, programs: this.#programs, call };
    const probe = await probeSandbox(this.#programs, this.#spec.language);
    if (probe.available) {
      let sandbox = this.#ready.shift();
      while (sandbox && !sandbox.alive) sandbox = this.#ready.shift();
      try {
        return await (sandbox ?? startSandboxedCode(run)).run(call);
      } finally {
        // Started after the call, not beside it, so the next sandbox's start does not slow this one.
        this.prestart();
      }
    }
    if (this.#section.sandbox === "unsafe-allow-unisolated") return await runUnisolatedCode(run);
    throw new KeelError(
      "sandbox_unavailable",
      `${this.name} did not run the code: no sandbox can be made on this host (${probe.reason})`,
    );
  }
}
