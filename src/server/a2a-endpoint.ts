import {
  A2A_PROTOCOL_VERSION,
  A2A_VERSION_HEADER,
  AgentCard,
  type Artifact,
  type Message,
  type Part,
  Role,
  SSE_HEADERS,
  type StreamResponse,
  type Task,
  TaskState,
} from "@a2a-js/sdk";
import {
  ExtendedAgentCardNotConfiguredError,
  PushNotificationNotSupportedError,
  RequestMalformedError,
  TaskNotCancelableError,
  TaskNotFoundError,
  UnsupportedOperationError,
} from "@a2a-js/sdk/errors";
import {
  type A2ARequestHandler,
  JsonRpcTransportHandler,
  ServerCallContext,
  validateVersion,
} from "@a2a-js/sdk/server";
import type { Context, Hono } from "hono";
import { API_ROUTES } from "../api/index.ts";
import { explainRun } from "../approvals/index.ts";
import { KeelError } from "../errors/index.ts";
import { type Principal, TERMINAL_STATUSES } from "../journal/index.ts";
import type { AgentDefinition } from "../runtime/index.ts";
import type { RunRecord, Store } from "../store/index.ts";
import { registerRoute } from "./register-route.ts";
import { principalOf } from "./request-principal.ts";

/** How long a blocking `SendMessage` waits for its run to settle; past it the task is answered as it stands. */
const SEND_WAIT_MS = 60_000;
/** How long `CancelTask` waits for the run to record its cancel before answering the task as it stands. */
const CANCEL_WAIT_MS = 5_000;
const JSON_RPC = "JSONRPC";

export type A2aEndpointOptions = {
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
  /** Request a run's cancel as `POST /v1/runs/{id}/cancel` would; answers the run as the store has it now. */
  cancelRun: (run: RunRecord, principal: Principal) => Promise<RunRecord>;
  /** The server takes API keys: the card names the bearer scheme. */
  bearer: boolean;
};

/**
 * Each agent as an A2A agent (protocol 1.0, JSON-RPC binding): its Agent Card at
 * `/a2a/{agent}/.well-known/agent-card.json`, its JSON-RPC methods at `/a2a/{agent}`. A task is a run: the task id
 * is the run id, and a task's state is read from the run each time, so any process answers for any task. A message
 * starts a run under the caller's key, governed like any other run.
 */
export function registerA2aEndpoint(app: Hono, options: A2aEndpointOptions): void {
  const agentFor = (context: Context, name: string): AgentDefinition => {
    const agent = options.agentsOf(principalOf(context).tenant).find((each) => each.name === name);
    if (!agent) throw new KeelError("not_found", `no agent named "${name}"`);
    return agent;
  };

  registerRoute(app, API_ROUTES.a2aAgentCard, ({ params }, context) => {
    const card = agentCard(agentFor(context, params.agent), endpointUrl(context, params.agent), options);
    return context.json(AgentCard.toJSON(card));
  });

  registerRoute(app, API_ROUTES.a2a, async ({ params, body }, context) => {
    const agent = agentFor(context, params.agent);
    const card = agentCard(agent, endpointUrl(context, params.agent), options);
    const requestedVersion = context.req.header(A2A_VERSION_HEADER);
    const call = new ServerCallContext(requestedVersion ? { requestedVersion } : {});
    const id = (body as { id?: unknown }).id;
    try {
      validateVersion(call.requestedVersion, card, JSON_RPC);
    } catch (error) {
      return context.json({
        jsonrpc: "2.0",
        id: typeof id === "string" || typeof id === "number" ? id : null,
        error: JsonRpcTransportHandler.mapToJSONRPCError(error),
      });
    }
    const handler = new RunTasks(options, agent, card, principalOf(context), context.req.raw.signal);
    const answer = await new JsonRpcTransportHandler(handler).handle(body, call);
    if (!(Symbol.asyncIterator in answer)) return context.json(answer);
    return await sseResponse(answer, id);
  });
}

/** The agent's JSON-RPC address, from the request's own URL. */
function endpointUrl(context: Context, agent: string): string {
  return `${new URL(context.req.url).origin}/a2a/${encodeURIComponent(agent)}`;
}

function agentCard(agent: AgentDefinition, url: string, options: A2aEndpointOptions): AgentCard {
  const bearer = options.bearer
    ? {
        securitySchemes: {
          bearer: {
            scheme: {
              $case: "httpAuthSecurityScheme" as const,
              value: {
                scheme: "Bearer",
                bearerFormat: "Keel API key",
                description: "A Keel API key with the invoker role, as Authorization: Bearer keel_…",
              },
            },
          },
        },
        securityRequirements: [{ schemes: { bearer: { list: [] } } }],
      }
    : { securitySchemes: {}, securityRequirements: [] };
  return {
    name: agent.name,
    description: agent.description,
    version: agent.version,
    supportedInterfaces: [
      { url, protocolBinding: JSON_RPC, tenant: "", protocolVersion: A2A_PROTOCOL_VERSION },
    ],
    provider: undefined,
    capabilities: { streaming: true, pushNotifications: false, extensions: [], extendedAgentCard: false },
    ...bearer,
    defaultInputModes: ["text/plain"],
    defaultOutputModes: ["text/plain", "application/json"],
    skills: [
      {
        id: agent.name,
        name: agent.name,
        description: `${agent.description} Each message starts a governed run of the agent; a step a person must approve leaves the task waiting with the approval's id.`,
        tags: ["keel", "governed"],
        examples: [],
        inputModes: ["text/plain"],
        outputModes: ["text/plain", "application/json"],
        securityRequirements: [],
      },
    ],
    signatures: [],
  };
}

/** The SDK's request handler for one request: tasks are the agent's runs in the store. */
class RunTasks implements A2ARequestHandler {
  private readonly options: A2aEndpointOptions;
  private readonly agent: AgentDefinition;
  private readonly card: AgentCard;
  private readonly principal: Principal;
  private readonly signal: AbortSignal;

  constructor(
    options: A2aEndpointOptions,
    agent: AgentDefinition,
    card: AgentCard,
    principal: Principal,
    signal: AbortSignal,
  ) {
    this.options = options;
    this.agent = agent;
    this.card = card;
    this.principal = principal;
    this.signal = signal;
  }

  async getAgentCard(): Promise<AgentCard> {
    return this.card;
  }

  async getAuthenticatedExtendedAgentCard(): Promise<AgentCard> {
    throw new ExtendedAgentCardNotConfiguredError("Keel's A2A agents have no extended Agent Card");
  }

  async sendMessage(params: Parameters<A2ARequestHandler["sendMessage"]>[0]): Promise<Task> {
    const run = await this.start(params);
    if (params.configuration?.returnImmediately) return await taskOf(this.options.store, run);
    return await taskOf(this.options.store, await this.settle(run, Date.now() + SEND_WAIT_MS));
  }

  async *sendMessageStream(
    params: Parameters<A2ARequestHandler["sendMessageStream"]>[0],
  ): AsyncGenerator<StreamResponse, void, undefined> {
    yield* this.follow(await this.start(params));
  }

  async *resubscribe(
    params: Parameters<A2ARequestHandler["resubscribe"]>[0],
  ): AsyncGenerator<StreamResponse, void, undefined> {
    const run = await this.requireRun(params.id);
    if (TERMINAL_STATUSES.has(run.status))
      throw new UnsupportedOperationError(`task ${run.runId} already ended; GetTask answers it`);
    yield* this.follow(run);
  }

  async getTask(params: Parameters<A2ARequestHandler["getTask"]>[0]): Promise<Task> {
    return await taskOf(this.options.store, await this.requireRun(params.id));
  }

  async cancelTask(params: Parameters<A2ARequestHandler["cancelTask"]>[0]): Promise<Task> {
    const run = await this.requireRun(params.id);
    if (TERMINAL_STATUSES.has(run.status))
      throw new TaskNotCancelableError(`task ${run.runId} already ended as ${run.status}`);
    const marked = await this.options.cancelRun(run, this.principal);
    const deadline = Date.now() + CANCEL_WAIT_MS;
    let now = marked;
    while (!TERMINAL_STATUSES.has(now.status) && Date.now() < deadline && !this.signal.aborted) {
      await this.options.store.waitForEvents({
        runId: now.runId,
        afterSeq: now.lastSeq,
        timeoutMs: Math.min(500, deadline - Date.now()),
        signal: this.signal,
      });
      now = (await this.options.store.getRun(now.runId)) ?? now;
    }
    return await taskOf(this.options.store, now);
  }

  async listTasks(): Promise<never> {
    throw new UnsupportedOperationError(
      "ListTasks is not offered: GET /v1/runs?agent=… lists the agent's runs",
    );
  }

  async createTaskPushNotificationConfig(): Promise<never> {
    throw new PushNotificationNotSupportedError("Keel's A2A agents send no push notifications");
  }

  async getTaskPushNotificationConfig(): Promise<never> {
    throw new PushNotificationNotSupportedError("Keel's A2A agents send no push notifications");
  }

  async listTaskPushNotificationConfigs(): Promise<never> {
    throw new PushNotificationNotSupportedError("Keel's A2A agents send no push notifications");
  }

  async deleteTaskPushNotificationConfig(): Promise<never> {
    throw new PushNotificationNotSupportedError("Keel's A2A agents send no push notifications");
  }

  /** Start the run a message asks for: its text parts are the run's input. */
  private async start(params: Parameters<A2ARequestHandler["sendMessage"]>[0]): Promise<RunRecord> {
    const message = params.message;
    if (!message) throw new RequestMalformedError("message: required");
    if (message.taskId)
      throw new UnsupportedOperationError(
        `message.taskId: a Keel task takes no further messages; a held step is decided by a person through Keel's approvals (task ${message.taskId})`,
      );
    const input = message.parts
      .flatMap((part) => (part.content?.$case === "text" ? [part.content.value] : []))
      .join("\n")
      .trim();
    if (input === "")
      throw new RequestMalformedError("message.parts: needs a text part with the agent's input");
    if (input.length > 100_000)
      throw new RequestMalformedError("message.parts: the text exceeds 100000 characters");
    // The client's message id makes a retried message answer the run it started instead of starting another.
    const idempotencyKey =
      message.messageId && message.messageId.length <= 190 ? `a2a:${message.messageId}` : undefined;
    try {
      return await this.options.startRun({
        name: this.agent.name,
        input,
        principal: this.principal,
        ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      });
    } catch (error) {
      // Refusals the run route answers 4xx (a version the registry holds back) are the request's error.
      if (error instanceof KeelError && error.status < 500)
        throw new UnsupportedOperationError(error.message);
      throw error;
    }
  }

  /** The task now, then a status update at each step and each change of state, until it ends or waits for a person. */
  private async *follow(started: RunRecord): AsyncGenerator<StreamResponse, void, undefined> {
    const { store } = this.options;
    let run = started;
    let task = await taskOf(store, run);
    yield { payload: { $case: "task", value: task } };
    let seen = 0;
    let state = task.status?.state;
    while (!settled(run) && !this.signal.aborted) {
      await store.waitForEvents({ runId: run.runId, afterSeq: seen, timeoutMs: 1_000, signal: this.signal });
      for (const event of await store.readEvents({ runId: run.runId, afterSeq: seen })) {
        seen = event.seq;
        if (event.type === "step-start")
          yield statusUpdate(
            run,
            TaskState.TASK_STATE_WORKING,
            `step ${event.payload.step}: ${event.payload.node}`,
          );
      }
      run = (await store.getRun(run.runId)) ?? run;
      if (!settled(run)) {
        if (state !== TaskState.TASK_STATE_WORKING && run.status === "running") {
          state = TaskState.TASK_STATE_WORKING;
          yield statusUpdate(run, state, "running");
        }
        continue;
      }
      task = await taskOf(store, run);
      for (const artifact of task.artifacts)
        yield {
          payload: {
            $case: "artifactUpdate",
            value: {
              taskId: run.runId,
              contextId: run.runId,
              artifact,
              append: false,
              lastChunk: true,
              metadata: undefined,
            },
          },
        };
      yield {
        payload: {
          $case: "statusUpdate",
          value: { taskId: run.runId, contextId: run.runId, status: task.status, metadata: task.metadata },
        },
      };
    }
  }

  /** Wait until the run ends or waits for a person, or the deadline passes. */
  private async settle(started: RunRecord, deadline: number): Promise<RunRecord> {
    let run = started;
    while (!settled(run) && Date.now() < deadline && !this.signal.aborted) {
      await this.options.store.waitForEvents({
        runId: run.runId,
        afterSeq: run.lastSeq,
        timeoutMs: Math.min(1_000, deadline - Date.now()),
        signal: this.signal,
      });
      run = (await this.options.store.getRun(run.runId)) ?? run;
    }
    return run;
  }

  /** The run a task id names, when it is a run of this agent for the caller's tenant; any other is not found. */
  private async requireRun(id: string): Promise<RunRecord> {
    const run = id ? await this.options.store.getRun(id) : undefined;
    if (!run || run.tenant !== this.principal.tenant || run.agent !== this.agent.name)
      throw new TaskNotFoundError(`no task "${id}"`);
    return run;
  }
}

/** A run stops moving on its own once it ended or suspended (for a person, a timer or a child run). */
function settled(run: RunRecord): boolean {
  return run.status !== "queued" && run.status !== "running";
}

/** The A2A task a run is: its state, its answer as an artifact, why it waits or failed in its status message. */
async function taskOf(store: Store, run: RunRecord): Promise<Task> {
  const keel: Record<string, unknown> = { runId: run.runId, status: run.status, agent: run.agent };
  const history = [message(run, `${run.runId}:input`, Role.ROLE_USER, [textPart(run.input)])];
  const base = { id: run.runId, contextId: run.runId, history };
  const status = (state: TaskState, text?: string) => ({
    state,
    message:
      text === undefined
        ? undefined
        : message(run, `${run.runId}:${run.status}`, Role.ROLE_AGENT, [textPart(text)]),
    timestamp: run.updatedAt.toISOString(),
  });
  if (run.status === "queued")
    return { ...base, status: status(TaskState.TASK_STATE_SUBMITTED), artifacts: [], metadata: { keel } };
  if (run.status === "running")
    return { ...base, status: status(TaskState.TASK_STATE_WORKING), artifacts: [], metadata: { keel } };
  const events = await store.readEvents({ runId: run.runId });
  if (run.status === "completed") {
    const end = events.at(-1);
    const output = end?.type === "run-end" ? end.payload.output : undefined;
    const parts = [textPart(run.answer ?? "")];
    if (output !== undefined) parts.push(dataPart(output));
    const artifact: Artifact = {
      artifactId: `${run.runId}:answer`,
      name: "answer",
      description: `the answer of ${run.agent}`,
      parts,
      metadata: undefined,
      extensions: [],
    };
    return {
      ...base,
      status: status(TaskState.TASK_STATE_COMPLETED, run.answer ?? ""),
      artifacts: [artifact],
      metadata: { keel },
    };
  }
  const explanation = explainRun(events) ?? `the run ended ${run.status}`;
  keel.explanation = explanation;
  if (run.status === "suspended") {
    const suspend = events.findLast((event) => event.type === "run-suspend");
    const approvalId = suspend?.type === "run-suspend" ? suspend.payload.approvalId : undefined;
    if (!approvalId)
      return {
        ...base,
        status: status(TaskState.TASK_STATE_WORKING, explanation),
        artifacts: [],
        metadata: { keel },
      };
    keel.approvalId = approvalId;
    return {
      ...base,
      status: status(
        TaskState.TASK_STATE_AUTH_REQUIRED,
        `The run ${run.runId} waits for a person's approval (${approvalId}): ${explanation}`,
      ),
      artifacts: [],
      metadata: { keel },
    };
  }
  const state = run.status === "cancelled" ? TaskState.TASK_STATE_CANCELED : TaskState.TASK_STATE_FAILED;
  return { ...base, status: status(state, explanation), artifacts: [], metadata: { keel } };
}

function statusUpdate(run: RunRecord, state: TaskState, text: string): StreamResponse {
  return {
    payload: {
      $case: "statusUpdate",
      value: {
        taskId: run.runId,
        contextId: run.runId,
        status: {
          state,
          message: message(run, `${run.runId}:${text}`, Role.ROLE_AGENT, [textPart(text)]),
          timestamp: new Date().toISOString(),
        },
        metadata: undefined,
      },
    },
  };
}

function message(run: RunRecord, messageId: string, role: Role, parts: Part[]): Message {
  return {
    messageId,
    contextId: run.runId,
    taskId: run.runId,
    role,
    parts,
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  };
}

function textPart(text: string): Part {
  return {
    content: { $case: "text", value: text },
    metadata: undefined,
    filename: "",
    mediaType: "text/plain",
  };
}

function dataPart(data: unknown): Part {
  return {
    content: { $case: "data", value: data },
    metadata: undefined,
    filename: "",
    mediaType: "application/json",
  };
}

/** JSON-RPC events as SSE, as the SDK's own server adapters send them; a fault before the first event is a JSON-RPC error. */
async function sseResponse(stream: AsyncGenerator<unknown, void, undefined>, id: unknown): Promise<Response> {
  const iterator = stream[Symbol.asyncIterator]();
  const errorOf = (error: unknown) => ({
    jsonrpc: "2.0",
    id: typeof id === "string" || typeof id === "number" ? id : null,
    error: JsonRpcTransportHandler.mapToJSONRPCError(error),
  });
  let first: IteratorResult<unknown, void>;
  try {
    first = await iterator.next();
  } catch (error) {
    return Response.json(errorOf(error));
  }
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      if (!first.done) controller.enqueue(encoder.encode(`data: ${JSON.stringify(first.value)}\n\n`));
    },
    async pull(controller) {
      try {
        const next = await iterator.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(`data: ${JSON.stringify(next.value)}\n\n`));
      } catch (error) {
        controller.enqueue(encoder.encode(`event: error\ndata: ${JSON.stringify(errorOf(error))}\n\n`));
        controller.close();
      }
    },
    async cancel() {
      await iterator.return?.();
    },
  });
  return new Response(body, { headers: { ...SSE_HEADERS, "cache-control": "no-store" } });
}
