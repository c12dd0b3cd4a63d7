import { dirname } from "node:path";
import type { CallToolResult, Tool as McpTool } from "@modelcontextprotocol/sdk/types.js";
import { KeelError } from "../errors/index.ts";
import { detectInjection } from "../guards/index.ts";
import { canonicalJson, hashCanonicalJson } from "../journal/index.ts";
import { type McpServerSpec, mcpToolName } from "../spec/index.ts";
import type { McpToolPin, McpToolPins } from "../store/index.ts";
import { jsonSchemaInput, type Tool, type ToolContext } from "../tools/index.ts";
import { McpServerConnection } from "./mcp-server-connection.ts";

type Env = Readonly<Record<string, string | undefined>>;
type McpToolSpec = McpServerSpec["tools"][number];
type ArgumentsSchema = Tool<Record<string, unknown>>["input"];

/** What of a tool's listing is pinned: everything the model reads about it and every argument it may send. */
export type McpToolDefinition = {
  name: string;
  title?: string;
  description: string;
  inputSchema: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
};

/** The pinned part of a listed tool. */
export function mcpToolDefinition(tool: McpTool): McpToolDefinition {
  return {
    name: tool.name,
    ...(tool.title === undefined ? {} : { title: tool.title }),
    description: tool.description ?? "",
    inputSchema: tool.inputSchema as Record<string, unknown>,
    ...(tool.outputSchema === undefined
      ? {}
      : { outputSchema: tool.outputSchema as Record<string, unknown> }),
  };
}

/** The hash a listing is pinned by: SHA-256 of its canonical JSON. */
export function mcpToolHash(definition: McpToolDefinition): string {
  return `sha256:${hashCanonicalJson(canonicalJson(definition))}`;
}

/**
 * Why a listing may not be approved without a person, or null: a description (the tool's, or one in its schema)
 * that reads as instructions to the model — the way a server smuggles orders into every prompt that lists it.
 */
export function mcpToolSuspicion(definition: McpToolDefinition): string | null {
  const texts = [
    definition.title ?? "",
    definition.description,
    ...schemaDescriptions(definition.inputSchema),
  ];
  for (const text of texts) {
    if (text.trim() === "") continue;
    // The rules alone: a tool's own description is imperative by nature ("Use this to refund an order"), a genre
    // the learned model was not trained on, and a refused tool is a configuration error, not a held run.
    const verdict = detectInjection(text, { source: "tool-result", detector: "rules" });
    if (verdict.detected)
      return `its description reads as instructions to the model (${verdict.classes.join(", ")}, score ${verdict.score.toFixed(2)})`;
  }
  return null;
}

function schemaDescriptions(schema: unknown): string[] {
  if (typeof schema !== "object" || schema === null) return [];
  if (Array.isArray(schema)) return schema.flatMap(schemaDescriptions);
  return Object.entries(schema).flatMap(([key, value]) =>
    key === "description" && typeof value === "string" ? [value] : schemaDescriptions(value),
  );
}

export type McpToolset = {
  /** The tools the spec declares, named as the agent knows them. */
  tools: Tool[];
  close(): Promise<void>;
};

/**
 * Connect an agent's MCP servers and bind the tools its spec declares as Keel tools, governed like its own
 * (allowlist, authority, data classes, budgets, guards on results — all by the runtime, as for any tool).
 *
 * Tool pinning: each declared tool's listing is hashed and recorded. The first listing is approved at deploy
 * unless its description reads as instructions to the model; a later listing that differs ("rug pull") is refused,
 * and so is every call to the tool, journaled as a `tool_refused` error, until a person approves the listing now
 * shown (`POST /v1/agents/{name}/mcp-tools/{server}/{tool}/approval`). The model is always offered the approved
 * listing, never the changed one. Checked at connection, whenever the server says its tools changed, on every
 * reconnection, and before every call: against what this process holds approved, and against the store when
 * that does not match (so an approval made through another process counts at once).
 *
 * A server that cannot be reached at startup is not fatal when its tools' approved listings are stored: the tools
 * are offered as approved and each call tries to connect again. A tool never listed, or a server never reached,
 * stops startup with the reason.
 */
export async function connectMcpTools(options: {
  agent: string;
  version: string;
  specFile: string;
  servers: readonly McpServerSpec[];
  env: Env;
  pins: McpToolPins;
  log: (line: string) => void;
}): Promise<McpToolset> {
  const connections: McpServerConnection[] = [];
  const tools: Tool[] = [];
  try {
    for (const server of options.servers) {
      const bound = await bindServer(server, options);
      connections.push(bound.connection);
      tools.push(...bound.tools);
    }
  } catch (error) {
    await Promise.all(connections.map((connection) => connection.close()));
    throw error;
  }
  return {
    tools,
    async close() {
      await Promise.all(connections.map((connection) => connection.close()));
    },
  };
}

type Options = Parameters<typeof connectMcpTools>[0];

async function bindServer(server: McpServerSpec, options: Options) {
  const states = new Map<string, McpTool_>();
  let listing: Promise<void> | null = null;
  const connection = new McpServerConnection({
    spec: server,
    specDir: dirname(options.specFile),
    env: options.env,
    log: options.log,
    onListChanged: () => {
      relist().catch((error: unknown) =>
        options.log(`mcp ${server.name}: listing its tools again failed: ${String(error)}`),
      );
    },
  });
  /** List the server's tools and record what each declared one shows now. */
  const relist = () => {
    listing ??= (async () => {
      const listed = new Map((await connection.listTools()).map((tool) => [tool.name, tool]));
      for (const declared of server.tools) {
        const tool = listed.get(declared.name);
        const state = states.get(declared.name);
        if (!tool) {
          if (state) state.missing = true;
          continue;
        }
        const definition = mcpToolDefinition(tool);
        const hash = mcpToolHash(definition);
        const pin = await options.pins.observe({
          agent: options.agent,
          server: server.name,
          tool: declared.name,
          hash,
          definition,
          suspicion: mcpToolSuspicion(definition),
          deployedBy: `deploy:${options.agent}@${options.version}`,
        });
        if (pin.refusal !== null)
          options.log(
            `mcp ${server.name}/${declared.name} of ${options.agent} is refused: ${pin.refusal} (now ${hash}, approved ${pin.approvedHash ?? "never"})`,
          );
        if (state) {
          state.seenHash = hash;
          state.missing = false;
          state.adopt(pin);
        } else
          states.set(declared.name, new McpTool_(declared, server, pin, hash, options, connection, relist));
      }
    })().finally(() => {
      listing = null;
    });
    return listing;
  };

  try {
    await connection.client();
    await relist();
  } catch (error) {
    // The spec's own mistake (a variable it reads that is not set) is not the server being away.
    if (error instanceof KeelError && error.code === "invalid_spec") {
      await connection.close();
      throw new KeelError("invalid_spec", `${options.specFile}: ${error.message}`);
    }
    // Unreachable now: the approved listings stored at an earlier deploy stand in until the server is back.
    options.log(`mcp ${server.name}: ${error instanceof Error ? error.message : String(error)}`);
    for (const declared of server.tools) {
      const pin = await options.pins.get(options.agent, server.name, declared.name);
      if (!pin?.approvedDefinition)
        throw new KeelError(
          "invalid_spec",
          `${options.specFile}: agent ${options.agent} cannot use MCP tool ${server.name}/${declared.name}: the server could not be reached and no approved listing of the tool is stored (${error instanceof Error ? error.message : String(error)})`,
        );
      states.set(declared.name, new McpTool_(declared, server, pin, null, options, connection, relist));
    }
  }
  const missing = server.tools.filter((declared) => !states.has(declared.name));
  if (missing.length > 0) {
    const offered = (await connection.listTools().catch(() => [])).map((tool) => tool.name);
    await connection.close();
    throw new KeelError(
      "invalid_spec",
      `${options.specFile}: MCP server ${server.name} has no tool ${missing.map((tool) => tool.name).join(", ")} (it offers: ${offered.join(", ") || "none"})`,
    );
  }
  return { connection, tools: server.tools.map((declared) => states.get(declared.name)!) };
}

/** One declared MCP tool as a Keel tool: offered as approved, called only while what the server shows is approved. */
class McpTool_ implements Tool<Record<string, unknown>, unknown> {
  readonly name: string;
  readonly sideEffect: boolean;
  readonly timeoutMs: number;
  readonly dataClasses?: readonly string[];
  readonly sendsDataOutside: boolean;
  /** The hash of the listing the server showed last; null until it was reached. */
  seenHash: string | null;
  missing = false;
  #approved: { hash: string; definition: McpToolDefinition; input: ArgumentsSchema } | null = null;
  readonly #declared: McpToolSpec;
  readonly #server: McpServerSpec;
  readonly #options: Options;
  readonly #connection: McpServerConnection;
  readonly #relist: () => Promise<void>;
  #fallback: { description: string; input: ArgumentsSchema };

  constructor(
    declared: McpToolSpec,
    server: McpServerSpec,
    pin: McpToolPin,
    seenHash: string | null,
    options: Options,
    connection: McpServerConnection,
    relist: () => Promise<void>,
  ) {
    this.name = mcpToolName(server, declared);
    this.sideEffect = declared.sideEffect;
    this.timeoutMs = declared.timeout ?? server.timeout;
    if (declared.dataClasses) this.dataClasses = declared.dataClasses;
    this.sendsDataOutside = declared.sendsDataOutside;
    this.seenHash = seenHash;
    this.#declared = declared;
    this.#server = server;
    this.#options = options;
    this.#connection = connection;
    this.#relist = relist;
    // A tool refused at first sight has no approved listing: the model sees what it shows, but no call goes out.
    const seen = pin.seenDefinition as McpToolDefinition;
    this.#fallback = { description: seen.description, input: this.#inputOf(seen) };
    this.adopt(pin);
  }

  get description(): string {
    return this.#approved?.definition.description ?? this.#fallback.description;
  }

  get input(): ArgumentsSchema {
    return this.#approved?.input ?? this.#fallback.input;
  }

  /** Take the approved listing of a pin, when it differs from the one held. */
  adopt(pin: McpToolPin): void {
    if (!pin.approvedHash || !pin.approvedDefinition || this.#approved?.hash === pin.approvedHash) return;
    const definition = pin.approvedDefinition as McpToolDefinition;
    this.#approved = { hash: pin.approvedHash, definition, input: this.#inputOf(definition) };
  }

  #inputOf(definition: McpToolDefinition): ArgumentsSchema {
    return jsonSchemaInput(definition.inputSchema, `MCP tool ${this.#server.name}/${this.#declared.name}`);
  }

  async execute(args: Record<string, unknown>, context: ToolContext): Promise<unknown> {
    const where = `${this.#server.name}/${this.#declared.name}`;
    // A connection made anew (first use, or after the server was lost) lists the tools before any call.
    if ((await this.#connection.client()).fresh) await this.#relist();
    // What this process last saw is approved: nothing to ask. Otherwise the store may hold a newer approval, made
    // through another process since, so it is asked before the call is refused.
    let refusal: string | null = null;
    if (this.seenHash === null || this.#approved?.hash !== this.seenHash) {
      const pin = await this.#options.pins.get(this.#options.agent, this.#server.name, this.#declared.name);
      if (pin) this.adopt(pin);
      refusal = pin?.refusal ?? "its listing is not approved";
    }
    if (this.missing)
      throw new KeelError(
        "forbidden",
        `MCP tool ${where} is no longer offered by its server: nothing was sent`,
      );
    if (this.seenHash === null || this.#approved?.hash !== this.seenHash) {
      throw new KeelError(
        "forbidden",
        `MCP tool ${where} is refused: ${refusal}; nothing was sent. A person must review and approve the listing it shows now (${this.seenHash}) for ${this.#options.agent}`,
      );
    }
    const result = await this.#connection.callTool(this.#declared.name, args, {
      signal: context.signal,
      timeoutMs: this.timeoutMs,
    });
    const size =
      Buffer.byteLength(JSON.stringify(result.content)) +
      (result.structuredContent === undefined
        ? 0
        : Buffer.byteLength(JSON.stringify(result.structuredContent)));
    if (size > this.#server.maxResultBytes)
      throw new Error(
        `${where} answered ${size} bytes, more than the ${this.#server.maxResultBytes} its server may (maxResultBytes): the result was dropped`,
      );
    if (result.isError) throw new Error(`${where} answered an error: ${textOf(result) || "(no message)"}`);
    return result.structuredContent ?? { content: textOf(result), ...nonTextParts(result) };
  }
}

function textOf(result: CallToolResult): string {
  return result.content.flatMap((part) => (part.type === "text" ? [part.text] : [])).join("\n");
}

/** Parts other than text, described rather than carried: images and audio do not belong in the journal. */
function nonTextParts(result: CallToolResult): { parts?: unknown[] } {
  const parts = result.content.flatMap((part): Record<string, unknown>[] => {
    if (part.type === "text") return [];
    if (part.type === "resource_link") return [{ type: part.type, uri: part.uri, name: part.name }];
    if (part.type === "resource") return [{ type: part.type, uri: part.resource.uri }];
    return [{ type: part.type, mimeType: "mimeType" in part ? part.mimeType : undefined }];
  });
  return parts.length > 0 ? { parts } : {};
}
