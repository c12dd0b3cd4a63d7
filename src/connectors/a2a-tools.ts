import { setTimeout as sleep } from "node:timers/promises";
import { AgentCard, Role, type SendMessageRequest, type Task, TaskState } from "@a2a-js/sdk";
import {
  type Client,
  ClientFactory,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
  RestTransportFactory,
} from "@a2a-js/sdk/client";
import { z } from "zod";
import { KeelError } from "../errors/index.ts";
import { type A2aSection, a2aToolName, hostAllowed, type RemoteAgentSpec } from "../spec/index.ts";
import type { ReconcileContext, Reconciliation, Tool, ToolContext } from "../tools/index.ts";
import { agentCardDescription, agentCardHash, agentCardSuspicion } from "./a2a-agent-card.ts";
import {
  messageResult,
  type RemoteAgentResult,
  stateName,
  taskResult,
  taskSettled,
} from "./a2a-task-result.ts";
import { egressFetch } from "./egress-fetch.ts";
import type { EgressRules, Resolve } from "./http-egress.ts";
import { readValueSources } from "./http-tools.ts";

type Env = Readonly<Record<string, string | undefined>>;
type Input = { input: string };

/** How long a cancel sent after a timeout may take before Keel stops waiting for it. */
const CANCEL_WAIT_MS = 10_000;
/** How long the task of a call that timed out is remembered, for the reconcile hook that follows. */
const REMEMBER_STOPPED_MS = 5 * 60_000;

/**
 * Bind an agent's remote A2A agents as Keel tools, with the official A2A client. Each card is read now, under the
 * agent's egress rules (http.allowHosts; no private addresses unless allowed), checked (an interface the client
 * speaks, on an allowed host), and matched against its pin: a card that changed since a person pinned it, or one
 * whose text reads as instructions to the model and is not pinned, stops startup with the hash to review. Every
 * request a call makes goes through the same egress rules, with the spec's headers.
 */
export async function bindA2aTools(options: {
  specFile: string;
  section: A2aSection;
  /** The agent's egress rules (its http section): allowed hosts, private networks, redirects followed. */
  egress: EgressRules & { maxRedirects: number };
  env: Env;
  /** Resolves host names (node:dns unless given). */
  resolve?: Resolve;
}): Promise<Tool<Input, RemoteAgentResult>[]> {
  const tools: Tool<Input, RemoteAgentResult>[] = [];
  for (const [index, spec] of options.section.agents.entries())
    tools.push(await bindRemoteAgent(spec, `${options.specFile}: a2a.agents[${index}]`, options));
  return tools;
}

async function bindRemoteAgent(
  spec: RemoteAgentSpec,
  where: string,
  options: Parameters<typeof bindA2aTools>[0],
): Promise<RemoteAgentTool> {
  const fetchImpl = egressFetch({
    rules: options.egress,
    maxRedirects: options.egress.maxRedirects,
    timeoutMs: spec.timeout,
    // The JSON-RPC answer carries the result with its envelope (a Keel task repeats its answer in the status).
    maxResponseBytes: spec.maxResultBytes * 4 + 64 * 1024,
    headers: readValueSources(spec.headers, options.env, `${where}.headers`),
    ...(options.resolve ? { resolve: options.resolve } : {}),
  });
  let card: AgentCard;
  try {
    // Read back through the protocol's own schema, so every field a sparse card leaves out has its default.
    card = AgentCard.fromJSON(await new DefaultAgentCardResolver({ fetchImpl }).resolve(spec.card, ""));
  } catch (error) {
    throw new KeelError(
      "invalid_spec",
      `${where}.card: the Agent Card of ${spec.name} at ${spec.card} could not be read: ${messageOf(error)}`,
    );
  }
  if (!card.name || card.supportedInterfaces.length === 0)
    throw new KeelError(
      "invalid_spec",
      `${where}.card: ${spec.card} is not an Agent Card Keel can use: it names no agent or no interface`,
    );
  for (const { url } of card.supportedInterfaces) {
    const host = URL.canParse(url) ? new URL(url).hostname.toLowerCase() : null;
    if (host === null || !hostAllowed(host, options.egress.allowHosts))
      throw new KeelError(
        "invalid_spec",
        `${where}.card: the card of ${spec.name} sends calls to ${url}, whose host is not in http.allowHosts (${options.egress.allowHosts.join(", ")})`,
      );
  }
  const hash = agentCardHash(card);
  if (spec.pin !== undefined && spec.pin !== hash)
    throw new KeelError(
      "invalid_spec",
      `${where}.pin: the card of ${spec.name} changed since it was pinned (pinned ${spec.pin}, now ${hash}); a person must review it at ${spec.card} and pin the new hash`,
    );
  const suspicion = spec.description === undefined ? agentCardSuspicion(card) : null;
  if (suspicion !== null && spec.pin === undefined)
    throw new KeelError(
      "invalid_spec",
      `${where}.card: ${spec.name} is refused: ${suspicion}. A person who has read it approves it with pin: ${hash}, or gives the tool a description of its own`,
    );
  let client: Client;
  try {
    client = await new ClientFactory({
      transports: [new JsonRpcTransportFactory({ fetchImpl }), new RestTransportFactory({ fetchImpl })],
      clientConfig: { polling: true },
    }).createFromAgentCard(card);
  } catch (error) {
    throw new KeelError(
      "invalid_spec",
      `${where}.card: Keel cannot call ${spec.name}: ${messageOf(error)} (it speaks JSON-RPC and HTTP+JSON)`,
    );
  }
  return new RemoteAgentTool(spec, client, spec.description ?? agentCardDescription(card));
}

/** What is known of a call that Keel stopped waiting for: its task, and how the cancel sent for it went. */
type Stopped = { taskId: string; cancelled: Promise<string | null> };

/**
 * One remote agent as a Keel tool. A call sends one message whose id is the call's idempotency key (so a Keel
 * agent on the other side answers a retried call with the task it already started), asks for the task at once and
 * polls it until it completes, fails or waits for a person. When Keel stops waiting (timeout, cancel, kill) the
 * remote task is cancelled; the reconcile hook then reads what became of it.
 */
class RemoteAgentTool implements Tool<Input, RemoteAgentResult> {
  readonly name: string;
  readonly description: string;
  readonly input: z.ZodType<Input>;
  readonly sideEffect: boolean;
  readonly timeoutMs: number;
  readonly dataClasses?: readonly string[];
  readonly sendsDataOutside: boolean;
  readonly #spec: RemoteAgentSpec;
  readonly #client: Client;
  readonly #stopped = new Map<string, Stopped>();

  constructor(spec: RemoteAgentSpec, client: Client, description: string) {
    this.name = a2aToolName(spec);
    this.description = description;
    this.input = z.strictObject({
      input: z
        .string()
        .min(1)
        .max(100_000)
        .describe(
          `The message for ${spec.name}, with every detail it needs: it does not see this conversation.`,
        ),
    });
    this.sideEffect = spec.sideEffect;
    this.timeoutMs = spec.timeout;
    if (spec.dataClasses) this.dataClasses = spec.dataClasses;
    this.sendsDataOutside = spec.sendsDataOutside;
    this.#spec = spec;
    this.#client = client;
  }

  async execute({ input }: Input, context: ToolContext): Promise<RemoteAgentResult> {
    const options = {
      signal: context.signal,
      ...(context.traceparent ? { serviceParameters: { traceparent: context.traceparent } } : {}),
    };
    const sent = await this.#client.sendMessage(message(input, context.idempotencyKey), options);
    if ("messageId" in sent) return this.#bounded(messageResult(this.#spec.name, sent));
    let task: Task = sent;
    // Cancelled as the signal aborts, not once this call notices: the runtime asks `reconcile` at once.
    const stop = () => this.#cancel(task.id, context.idempotencyKey);
    if (context.signal.aborted) {
      stop();
      context.signal.throwIfAborted();
    }
    context.signal.addEventListener("abort", stop, { once: true });
    try {
      for (let delay = 25; !taskSettled(task); delay = Math.min(delay * 2, 1_000)) {
        await sleep(delay, undefined, { signal: context.signal });
        task = await this.#client.getTask({ tenant: "", id: task.id, historyLength: 0 }, options);
      }
    } finally {
      context.signal.removeEventListener("abort", stop);
    }
    return this.#bounded(taskResult(this.#spec.name, task));
  }

  /**
   * What became of a call Keel stopped waiting for, asked before the runtime gives up on a side-effecting one: a
   * task that completed anyway is the call's result; one the remote agent rejected did nothing. Anything else is
   * unknown (thrown): a cancelled task may have acted before it stopped, and after a restart no task is known,
   * since A2A offers no lookup by message id (the call is then retried with the same message id).
   */
  async reconcile(_input: Input, context: ReconcileContext): Promise<Reconciliation<RemoteAgentResult>> {
    const stopped = this.#stopped.get(context.idempotencyKey);
    if (!stopped)
      throw new Error(
        `no task of this call is known to this process, and ${this.#spec.name} offers no lookup by message id`,
      );
    this.#stopped.delete(context.idempotencyKey);
    const cancelFailed = await stopped.cancelled;
    const task = await this.#client.getTask(
      { tenant: "", id: stopped.taskId, historyLength: 0 },
      { signal: context.signal },
    );
    const state = task.status?.state;
    if (state === TaskState.TASK_STATE_COMPLETED)
      return { applied: true, result: this.#bounded(taskResult(this.#spec.name, task)) };
    if (state === TaskState.TASK_STATE_REJECTED) return { applied: false };
    throw new Error(
      `its task ${task.id} is ${stateName(state)} after Keel cancelled it${cancelFailed ? ` (the cancel failed: ${cancelFailed})` : ""}; what it did before is not known`,
    );
  }

  /** Cancel the remote task of a call Keel stopped waiting for, remembering how it went for `reconcile`. */
  #cancel(taskId: string, idempotencyKey: string): void {
    const cancelled = this.#client
      .cancelTask(
        { tenant: "", id: taskId, metadata: undefined },
        { signal: AbortSignal.timeout(CANCEL_WAIT_MS) },
      )
      .then(
        () => null,
        (error: unknown) => messageOf(error),
      );
    if (!this.sideEffect) return;
    this.#stopped.set(idempotencyKey, { taskId, cancelled });
    setTimeout(() => this.#stopped.delete(idempotencyKey), REMEMBER_STOPPED_MS).unref();
  }

  #bounded(result: RemoteAgentResult): RemoteAgentResult {
    const size = Buffer.byteLength(JSON.stringify(result));
    if (size > this.#spec.maxResultBytes)
      throw new Error(
        `${this.#spec.name} answered ${size} bytes, more than the ${this.#spec.maxResultBytes} a call may return (maxResultBytes): the answer was dropped`,
      );
    return result;
  }
}

function message(input: string, messageId: string): SendMessageRequest {
  return {
    tenant: "",
    message: {
      messageId,
      contextId: "",
      taskId: "",
      role: Role.ROLE_USER,
      parts: [
        {
          content: { $case: "text", value: input },
          metadata: undefined,
          filename: "",
          mediaType: "text/plain",
        },
      ],
      metadata: undefined,
      extensions: [],
      referenceTaskIds: [],
    },
    configuration: {
      acceptedOutputModes: ["text/plain", "application/json"],
      taskPushNotificationConfig: undefined,
      historyLength: 0,
      returnImmediately: true,
    },
    metadata: undefined,
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
