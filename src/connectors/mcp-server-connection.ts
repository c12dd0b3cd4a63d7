import { resolve } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  type CallToolResult,
  type Tool as McpTool,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { KeelError } from "../errors/index.ts";
import type { McpServerSpec, ValueSource } from "../spec/index.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** The most tools pages a listing reads: a server that never stops paging is refused, not followed forever. */
const MAX_LIST_PAGES = 50;

/**
 * One MCP server an agent uses, through the official client: started (stdio) or reached (streamable HTTP) on first
 * use, and again after the connection is lost — the next call reconnects and lists the tools anew, so a server that
 * came back changed is checked before it is used. Requests are time-limited by the server's `timeout`.
 */
export class McpServerConnection {
  readonly spec: McpServerSpec;
  readonly #specDir: string;
  readonly #env: Env;
  readonly #log: (line: string) => void;
  readonly #onListChanged: () => void;
  #client: Client | null = null;
  #connecting: Promise<{ client: Client; fresh: boolean }> | null = null;

  constructor(options: {
    spec: McpServerSpec;
    specDir: string;
    env: Env;
    log: (line: string) => void;
    /** The server said its tools changed, or the connection was made anew: list them again. */
    onListChanged: () => void;
  }) {
    this.spec = options.spec;
    this.#specDir = options.specDir;
    this.#env = options.env;
    this.#log = options.log;
    this.#onListChanged = options.onListChanged;
  }

  get connected(): boolean {
    return this.#client !== null;
  }

  /** The connected client; `fresh` when this call made the connection (its tools must be listed again). */
  async client(): Promise<{ client: Client; fresh: boolean }> {
    if (this.#client) return { client: this.#client, fresh: false };
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = null;
    });
    return await this.#connecting;
  }

  async #connect(): Promise<{ client: Client; fresh: boolean }> {
    const client = new Client({ name: "keel", version: "1" }, { capabilities: {} });
    const transport = this.#transport();
    client.onclose = () => {
      if (this.#client === client) this.#client = null;
    };
    client.onerror = (error) => this.#log(`mcp ${this.spec.name}: ${error.message}`);
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => this.#onListChanged());
    try {
      await client.connect(transport, { timeout: this.spec.timeout });
    } catch (error) {
      await client.close().catch(() => undefined);
      throw new KeelError(
        "unavailable",
        `MCP server ${this.spec.name} (${this.#where()}) could not be reached: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    this.#client = client;
    return { client, fresh: true };
  }

  #transport() {
    const { spec } = this;
    if (spec.command !== undefined) {
      const transport = new StdioClientTransport({
        command: spec.command,
        args: spec.args,
        cwd: resolve(this.#specDir, spec.cwd ?? "."),
        // Only the variables the spec gives, beside the few a program needs to start (PATH, HOME…).
        env: { ...getDefaultEnvironment(), ...this.#values(spec.env, "env") },
        stderr: "pipe",
        // Room to read a message past the result limit, so an oversized answer is refused, not a lost connection.
        maxBufferSize: Math.max(16 * 1024 * 1024, 2 * spec.maxResultBytes),
      });
      transport.stderr?.on("data", (chunk: Buffer) => {
        for (const line of chunk.toString("utf8").split("\n"))
          if (line.trim() !== "") this.#log(`mcp ${spec.name} stderr: ${line.slice(0, 500)}`);
      });
      return transport;
    }
    return new StreamableHTTPClientTransport(new URL(spec.url!), {
      requestInit: { headers: this.#values(spec.headers, "headers") },
    });
  }

  /** Literal values, and those read from the environment (a missing variable is the spec's error, named). */
  #values(entries: Readonly<Record<string, ValueSource>>, field: string): Record<string, string> {
    return Object.fromEntries(
      Object.entries(entries).map(([name, source]) => {
        if (typeof source === "string") return [name, source];
        const value = this.#env[source.fromEnv];
        if (value === undefined || value === "")
          throw new KeelError(
            "invalid_spec",
            `MCP server ${this.spec.name}: ${field}.${name} reads ${source.fromEnv}, which is not set`,
          );
        return [name, `${source.prefix ?? ""}${value}`];
      }),
    );
  }

  #where(): string {
    return this.spec.command !== undefined ? `command ${this.spec.command}` : (this.spec.url ?? "");
  }

  /** Every tool the server lists, following its pages. */
  async listTools(): Promise<McpTool[]> {
    const { client } = await this.client();
    const tools: McpTool[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const listed = await client.listTools(cursor === undefined ? {} : { cursor }, {
        timeout: this.spec.timeout,
      });
      tools.push(...listed.tools);
      cursor = listed.nextCursor;
      if (cursor === undefined) return tools;
    }
    throw new KeelError(
      "tool_failed",
      `MCP server ${this.spec.name} listed more than ${MAX_LIST_PAGES} pages of tools`,
    );
  }

  /** Call a tool; the signal (timeout, cancel, kill) cancels the request on the server too. */
  async callTool(
    name: string,
    args: Record<string, unknown>,
    options: { signal: AbortSignal; timeoutMs: number },
  ): Promise<CallToolResult> {
    const { client } = await this.client();
    return (await client.callTool({ name, arguments: args }, undefined, {
      signal: options.signal,
      timeout: options.timeoutMs,
    })) as CallToolResult;
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = null;
    await client?.close().catch(() => undefined);
  }
}
