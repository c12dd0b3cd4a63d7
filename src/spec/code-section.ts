import { z } from "zod";
import { byteSizeSchema } from "./byte-size.ts";
import { durationSchema } from "./duration.ts";

const ToolName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/, "expected letters, digits, _ and - (what model providers accept)");

const CodeToolSpec = z
  .strictObject({
    name: ToolName.describe("The tool's name, in tools and governance."),
    description: z
      .string()
      .min(1)
      .describe("What the model reads about the tool: what the code is for, what it can and cannot reach."),
    language: z
      .enum(["javascript", "python"])
      .describe(
        "javascript runs on the Node.js binary that runs Keel (CommonJS, main.js); python on /usr/bin/python3 in isolated mode (main.py).",
      ),
    timeout: durationSchema({ units: ["ms", "s", "m"], examples: "500ms, 5s or 1m", title: "Duration" })
      .prefault("5s")
      .describe("Wall-clock limit for one call, start-up included (default 5s)."),
    cpuTime: durationSchema({ units: ["s", "m"], examples: "2s or 1m", title: "Duration" })
      .prefault("2s")
      .describe("CPU time each process of the call may use, in whole seconds, rounded up (default 2s)."),
    memory: byteSizeSchema({ min: 16 * 1024 ** 2, max: 16 * 1024 ** 3, title: "Size" })
      .prefault("256MiB")
      .describe("Resident memory the call's processes may hold together (default 256MiB)."),
    processes: z
      .number()
      .int()
      .min(1)
      .max(1_024)
      .default(32)
      .describe("Processes and threads the call may have at once, runtime threads included (default 32)."),
    maxOutputBytes: byteSizeSchema({ min: 1_024, max: 16 * 1024 ** 2, title: "Size" })
      .prefault("64KiB")
      .describe("Bytes of standard output and error together a call may write (default 64KiB)."),
    tmpSize: byteSizeSchema({ min: 1_024 ** 2, max: 1_024 ** 3, title: "Size" })
      .prefault("16MiB")
      .describe("Size of the private writable /tmp, the only place the code may write (default 16MiB)."),
    prestarted: z
      .number()
      .int()
      .min(0)
      .max(8)
      .default(1)
      .describe(
        "Fresh sandboxes kept started and waiting for a call, each used for one call only and replaced after it (default 1; 0 starts each when called).",
      ),
    dataClasses: z
      .array(z.string().regex(/^[a-z][a-z0-9_-]*$/, "expected a lowercase data class"))
      .optional()
      .describe("Classes of data its results hold (default: those of the code and input the model sends)."),
  })
  .superRefine((tool, context) => {
    // Node's own threads (V8's platform workers, libuv's pool) count against the process limit, and its heap
    // needs room before any code runs.
    if (tool.language === "javascript" && tool.processes < 16)
      context.addIssue({
        code: "custom",
        path: ["processes"],
        message: "javascript needs at least 16 (Node.js starts about a dozen threads)",
        input: tool.processes,
      });
    if (tool.language === "javascript" && tool.memory < 64 * 1024 ** 2)
      context.addIssue({
        code: "custom",
        path: ["memory"],
        message: "javascript needs at least 64MiB (Node.js holds about 40MiB before any code runs)",
        input: tool.memory,
      });
  });

export type CodeToolSpec = z.output<typeof CodeToolSpec>;

export const CodeSection = z
  .strictObject({
    sandbox: z
      .enum(["required", "unsafe-allow-unisolated"])
      .default("required")
      .describe(
        "required (default): a call is refused when no sandbox can be made here. unsafe-allow-unisolated: run the code as a plain child process where no sandbox can be made — with the host's files, network and Keel's user — logged at startup and marked on every call's result.",
      ),
    tools: z.array(CodeToolSpec).min(1).describe("The code tools, each one language with its limits."),
  })
  .describe(
    "Tools that run model-written JavaScript or Python in a sandbox: no network, read-only system, a private /tmp, limits on time, memory, processes and output (docs/connectors.md).",
  );

export type CodeSection = z.output<typeof CodeSection>;

/** The names the agent knows the section's tools by, each with the field path that declares it. */
export function codeToolNames(section: CodeSection): { name: string; path: (string | number)[] }[] {
  return section.tools.map((tool, index) => ({ name: tool.name, path: ["tools", index, "name"] }));
}
