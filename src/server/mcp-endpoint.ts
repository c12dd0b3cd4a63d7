import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type Tool as McpTool,
} from "@modelcontextprotocol/sdk/types.js";
import type { Context, Hono } from "hono";
import { z } from "zod";
import { API_ROUTES } from "../api/index.ts";
import { explainRun } from "../approvals/index.ts";
import { KeelError } from "../errors/index.ts";
import type { Principal } from "../journal/index.ts";
import type { AgentDefinition } from "../runtime/index.ts";
import type { RunRecord, Store } from "../store/index.ts";
import { registerRoute } from "./register-route.ts";
import { principalOf } from "./request-principal.ts";

/** The longest a `tools/call` waits for its run by default, and at most, in seconds. */
const DEFAULT_WAIT_SECONDS = 60;
const MAX_WAIT_SECONDS = 600;
/** The tool that reports on a run started earlier; agent names cannot contain `_`, so it never clashes with one. */
const RUN_STATUS_TOOL = "keel_run_status";

const AgentArguments = z.strictObject({
  input: z.string().min(1, "must not be empty").max(100_000),
  idempotencyKey: z.string().min(1).max(200).optional(),
  waitSeconds: z.number().int().min(0).max(MAX_WAIT_SECONDS).optional(),
});
const RunStatusArguments = z.strictObject({
  runId: z.string().min(1).max(200),
  waitSeconds: z.number().int().min(0).max(MAX_WAIT_SECONDS).optional(),
});

export type McpEndpointOptions = {
  store: Store;
  /** The agents a caller of this tenant may run, as the control plane lists them. */
  agentsOf: (tenant: string) => readonly AgentDefinition[];
  /** Start a run as `POST /v1/agents/{name}/runs` would (registry gates, idempotency, the worker's poke). */
  startRun: (options: {
    name: string;
    input: string;
    principal: Principal;
    idempotencyKey?: string;
  }) => Promise<RunRecord>;
  version: string;
  log: (line: string) => void;
};

/**
 * Keel as an MCP server over streamable HTTP (`POST /mcp`), stateless: each request gets its own protocol server,
 * so any process behind a load balancer answers any request. Every agent the caller's key may run is a tool whose
 * input is the agent's input; a call starts a run under the key's principal — governed like any other run — waits
 * for it to settle, and answers its answer, or that it waits for a person with the approval's id, or, past the
 * wait, that it is still running with its id (the `keel_run_status` tool reports on it later).
 */
export function registerMcpEndpoint(app: Hono, options: McpEndpointOptions): void {
  registerRoute(app, API_ROUTES.mcp, async ({ body }, context) => {
    const server = protocolServer(options, principalOf(context));
    // No session id generator: stateless, so no MCP session ties a client to this process.
    const transport = new WebStandardStreamableHTTPServerTransport({ enableJsonResponse: true });
    await server.connect(transport);
    try {
      return await transport.handleRequest(context.req.raw, { parsedBody: body });
    } finally {
      await server.close();
    }
  });
  const notAllowed = (context: Context) =>
    context.json(
      {
        jsonrpc: "2.0",
        error: { code: -32000, message: "Keel's MCP server is stateless: send requests with POST /mcp" },
        id: null,
      },
      405,
      { allow: "POST" },
    );
  registerRoute(app, API_ROUTES.mcpStream, (_, context) => notAllowed(context));
  registerRoute(app, API_ROUTES.mcpEnd, (_, context) => notAllowed(context));
}

function protocolServer(options: McpEndpointOptions, principal: Principal): Server {
  const server = new Server(
    { name: "keel", version: options.version },
    {
      capabilities: { tools: { listChanged: false } },
      instructions:
        "Each tool is a Keel agent: give it `input`; it answers, or says it waits for a person's approval. " +
        `Call ${RUN_STATUS_TOOL} with a run id to see how a run that was still going ended.`,
    },
  );
  const agentNamed = (name: string) =>
    options.agentsOf(principal.tenant).find((agent) => agent.name === name);

  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: [...options.agentsOf(principal.tenant).map(agentTool), runStatusTool()],
  }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const { name } = request.params;
    const args = request.params.arguments ?? {};
    if (name === RUN_STATUS_TOOL) {
      const parsed = RunStatusArguments.safeParse(args);
      if (!parsed.success) return invalidArguments(parsed.error);
      const run = await options.store.getRun(parsed.data.runId);
      // Another tenant's run is as absent as a missing one.
      if (!run || run.tenant !== principal.tenant) return failure(`no run ${parsed.data.runId}`);
      return await settleAndPresent(options.store, run, parsed.data.waitSeconds ?? 0, extra.signal);
    }
    const agent = agentNamed(name);
    if (!agent) throw new McpError(ErrorCode.InvalidParams, `no tool named "${name}"`);
    const parsed = AgentArguments.safeParse(args);
    if (!parsed.success) return invalidArguments(parsed.error);
    let run: RunRecord;
    try {
      run = await options.startRun({
        name,
        input: parsed.data.input,
        principal,
        ...(parsed.data.idempotencyKey === undefined ? {} : { idempotencyKey: parsed.data.idempotencyKey }),
      });
    } catch (error) {
      // Refusals the run route would answer 4xx (a version the registry holds back, a key used for another
      // agent) are the tool's answer; anything else is the server's own error.
      if (error instanceof KeelError && error.status < 500) return failure(error.message);
      throw error;
    }
    const wait = parsed.data.waitSeconds ?? DEFAULT_WAIT_SECONDS;
    return await settleAndPresent(options.store, run, wait, extra.signal);
  });
  server.onerror = (error) => options.log(`mcp: ${error.message}`);
  return server;
}

function agentTool(agent: AgentDefinition): McpTool {
  return {
    name: agent.name,
    title: `${agent.name} ${agent.version}`,
    description: agent.description,
    inputSchema: {
      type: "object",
      properties: {
        input: { type: "string", minLength: 1, description: "What to ask the agent." },
        idempotencyKey: {
          type: "string",
          minLength: 1,
          maxLength: 200,
          description: "The same key again answers the run it started instead of starting another.",
        },
        waitSeconds: {
          type: "integer",
          minimum: 0,
          maximum: MAX_WAIT_SECONDS,
          description: `How long to wait for the answer (default ${DEFAULT_WAIT_SECONDS}); past it the run goes on and its id is answered.`,
        },
      },
      required: ["input"],
      additionalProperties: false,
    },
    outputSchema: RUN_OUTPUT_SCHEMA,
    annotations: { title: agent.name, readOnlyHint: false, openWorldHint: true },
  };
}

function runStatusTool(): McpTool {
  return {
    name: RUN_STATUS_TOOL,
    title: "A run's status",
    description:
      "How a run started by one of these tools stands: its answer once it completed, what it waits for, or why it failed.",
    inputSchema: {
      type: "object",
      properties: {
        runId: { type: "string", minLength: 1, description: "The run's id, as a tool call answered it." },
        waitSeconds: {
          type: "integer",
          minimum: 0,
          maximum: MAX_WAIT_SECONDS,
          description: "How long to wait for the run to settle (default 0: answer at once).",
        },
      },
      required: ["runId"],
      additionalProperties: false,
    },
    outputSchema: RUN_OUTPUT_SCHEMA,
    annotations: { title: "A run's status", readOnlyHint: true, openWorldHint: false },
  };
}

const RUN_OUTPUT_SCHEMA: McpTool["outputSchema"] = {
  type: "object",
  properties: {
    runId: { type: "string" },
    status: { type: "string" },
    answer: { type: ["string", "null"] },
    output: {},
    approvalId: { type: "string" },
    explanation: { type: "string" },
  },
  required: ["runId", "status"],
};

/** Wait up to `seconds` for the run to leave queued/running, then answer how it stands. */
async function settleAndPresent(
  store: Store,
  started: RunRecord,
  seconds: number,
  signal: AbortSignal,
): Promise<CallToolResult> {
  const deadline = Date.now() + seconds * 1_000;
  let run = started;
  while ((run.status === "queued" || run.status === "running") && Date.now() < deadline && !signal.aborted) {
    await store.waitForEvents({
      runId: run.runId,
      afterSeq: run.lastSeq,
      timeoutMs: Math.min(1_000, deadline - Date.now()),
      signal,
    });
    run = (await store.getRun(run.runId)) ?? run;
  }
  return await present(store, run);
}

async function present(store: Store, run: RunRecord): Promise<CallToolResult> {
  const base = { runId: run.runId, status: run.status };
  if (run.status === "queued" || run.status === "running") {
    return result(
      `The run ${run.runId} is still going; call ${RUN_STATUS_TOOL} with its id to see how it ends.`,
      { ...base, answer: null },
    );
  }
  const events = await store.readEvents({ runId: run.runId });
  if (run.status === "completed") {
    const end = events.at(-1);
    const output = end?.type === "run-end" ? end.payload.output : undefined;
    return result(run.answer ?? "", {
      ...base,
      answer: run.answer,
      ...(output === undefined ? {} : { output }),
    });
  }
  const explanation = explainRun(events) ?? `the run ended ${run.status}`;
  if (run.status === "suspended") {
    const suspend = events.findLast((event) => event.type === "run-suspend");
    const approvalId = suspend?.type === "run-suspend" ? suspend.payload.approvalId : undefined;
    const text = approvalId
      ? `The run ${run.runId} waits for a person's approval (${approvalId}): ${explanation}`
      : `The run ${run.runId} is waiting: ${explanation}`;
    return result(text, { ...base, answer: null, explanation, ...(approvalId ? { approvalId } : {}) });
  }
  return { ...result(explanation, { ...base, answer: null, explanation }), isError: true };
}

function result(text: string, structured: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text }], structuredContent: structured };
}

function failure(message: string): CallToolResult {
  return { content: [{ type: "text", text: message }], isError: true };
}

/** Arguments that do not fit the tool's schema: a tool error naming each field, which the model can correct. */
function invalidArguments(error: z.ZodError): CallToolResult {
  const issues = error.issues.map((issue) => {
    const path =
      issue.path.length > 0
        ? issue.path.join(".")
        : ((issue as { keys?: string[] }).keys?.join(", ") ?? "(arguments)");
    const message = issue.code === "unrecognized_keys" ? "not an argument of this tool" : issue.message;
    return `${path}: ${message}`;
  });
  return failure(`invalid arguments: ${issues.join("; ")}`);
}
