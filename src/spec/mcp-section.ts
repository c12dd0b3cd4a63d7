import { z } from "zod";
import { byteLimit } from "./byte-limit.ts";
import { durationSchema } from "./duration.ts";

const Timeout = durationSchema({ units: ["ms", "s", "m"], examples: "500ms, 30s or 2m", title: "Duration" });

/** A value given literally, or read from an environment variable when the server starts (for secrets). */
export const ValueSource = z.union([
  z.string(),
  z.strictObject({
    fromEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected an environment variable's name")
      .describe("The environment variable holding the value."),
    prefix: z.string().optional().describe('Text put before the value, such as "Bearer ".'),
  }),
]);

export type ValueSource = z.output<typeof ValueSource>;

const McpToolSpec = z.strictObject({
  name: z.string().min(1).max(128).describe("The tool's name on the MCP server."),
  as: z
    .string()
    .regex(
      /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/,
      "expected letters, digits, _ and - (what model providers accept)",
    )
    .optional()
    .describe("The name the agent knows it by, in tools and governance (default <server>_<name>)."),
  sideEffect: z
    .boolean()
    .default(true)
    .describe(
      "False for a tool that only reads; a side-effecting call (the default) gets an idempotency key and is retried at most once.",
    ),
  dataClasses: z
    .array(z.string().regex(/^[a-z][a-z0-9_-]*$/, "expected a lowercase data class"))
    .optional()
    .describe(
      "Classes of data its results hold (MCP declares none): public, internal, pii, financial, secret…",
    ),
  sendsDataOutside: z.boolean().default(false).describe("True when it sends data outside the organisation."),
  timeout: Timeout.optional().describe("Limit for one call (default: the server's timeout)."),
});

const McpServerSpec = z
  .strictObject({
    name: z
      .string()
      .regex(
        /^[a-z][a-z0-9_]{0,31}$/,
        "expected up to 32 lowercase letters, digits and _, starting with a letter",
      )
      .describe("The server's name in this spec; its tools are <name>_<tool> unless renamed."),
    command: z.string().min(1).optional().describe("stdio: the program that runs the server."),
    args: z.array(z.string()).default([]).describe("stdio: the program's arguments."),
    cwd: z.string().min(1).optional().describe("stdio: its working directory, relative to this spec."),
    env: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), ValueSource)
      .default({})
      .describe(
        "stdio: environment variables it gets (nothing else of Keel's environment but PATH and HOME).",
      ),
    url: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe("Streamable HTTP: the server's MCP endpoint."),
    headers: z
      .record(z.string().regex(/^[A-Za-z0-9-]+$/, "expected an HTTP header name"), ValueSource)
      .default({})
      .describe("Streamable HTTP: headers sent with every request (secrets through fromEnv)."),
    timeout: Timeout.prefault("30s").describe("Limit for connecting and for one call (default 30s)."),
    maxResultBytes: byteLimit(
      "The largest result a call may answer, in bytes of JSON (default 1 MiB); a larger one is the call's error.",
    ),
    tools: z.array(McpToolSpec).min(1).describe("The server's tools the agent may use; others are ignored."),
  })
  .superRefine((server, context) => {
    if ((server.command === undefined) === (server.url === undefined))
      context.addIssue({
        code: "custom",
        path: ["command"],
        message: "give either command (a stdio server) or url (a streamable HTTP server)",
        input: server,
      });
    const names = new Set<string>();
    server.tools.forEach((tool, index) => {
      if (names.has(tool.name))
        context.addIssue({
          code: "custom",
          path: ["tools", index, "name"],
          message: `${tool.name} is listed twice`,
          input: tool,
        });
      names.add(tool.name);
    });
  });

export type McpServerSpec = z.output<typeof McpServerSpec>;

export const McpSection = z
  .strictObject({
    servers: z.array(McpServerSpec).min(1).describe("The MCP servers the agent's tools come from."),
  })
  .describe("Tools from Model Context Protocol servers, governed like the agent's own (docs/connectors.md).");

/** The name the agent knows an MCP tool by. */
export function mcpToolName(
  server: { name: string },
  tool: { name: string; as?: string | undefined },
): string {
  return tool.as ?? `${server.name}_${tool.name}`;
}
