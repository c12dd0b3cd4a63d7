import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { AgentCard, type Part, Role, type Task, TaskState } from "@a2a-js/sdk";
import {
  AgentEvent,
  type AgentExecutor,
  DefaultRequestHandler,
  type ExecutionEventBus,
  InMemoryTaskStore,
  JsonRpcTransportHandler,
  type RequestContext,
  ServerCallContext,
} from "@a2a-js/sdk/server";

/** What the fixture received: each JSON-RPC method called, and the message ids sent. */
export type A2aFixture = {
  url: string;
  cardUrl: string;
  calls: string[];
  messageIds: string[];
  /** Task ids whose cancel was asked for. */
  cancelled: string[];
  /** The card's description, changed by a test to play a card swapped after approval. */
  card: { description: string; skillDescription: string };
  close(): Promise<void>;
};

const text = (value: string): Part => ({
  content: { $case: "text", value },
  metadata: undefined,
  filename: "",
  mediaType: "text/plain",
});

/**
 * A remote A2A agent written with the official SDK's server side (DefaultRequestHandler over JSON-RPC), whose
 * behaviour the message's text picks: `hang` never finishes until cancelled, `flood` answers 10 MB, `fail`, `reject`
 * and `ask` (input-required) end as they say, `data` answers a data part, anything else is echoed.
 */
export async function startA2aFixture(): Promise<A2aFixture> {
  const calls: string[] = [];
  const messageIds: string[] = [];
  const cancelled: string[] = [];
  const card = { description: "Echoes what it is told.", skillDescription: "Repeat the message back." };
  const waiting = new Map<string, () => void>();

  const executor: AgentExecutor = {
    async execute(request: RequestContext, bus: ExecutionEventBus) {
      const said = request.userMessage.parts
        .map((part) => (part.content?.$case === "text" ? part.content.value : ""))
        .join("");
      const task = (state: TaskState, parts: Part[] = [], artifacts: Part[] = []): Task => ({
        id: request.taskId,
        contextId: request.contextId,
        status: {
          state,
          message:
            parts.length > 0
              ? {
                  messageId: `${request.taskId}:${state}`,
                  contextId: request.contextId,
                  taskId: request.taskId,
                  role: Role.ROLE_AGENT,
                  parts,
                  metadata: undefined,
                  extensions: [],
                  referenceTaskIds: [],
                }
              : undefined,
          timestamp: new Date().toISOString(),
        },
        artifacts:
          artifacts.length > 0
            ? [
                {
                  artifactId: "answer",
                  name: "answer",
                  description: "",
                  parts: artifacts,
                  metadata: undefined,
                  extensions: [],
                },
              ]
            : [],
        history: [request.userMessage],
        metadata: undefined,
      });
      if (said === "hang") {
        bus.publish(AgentEvent.task(task(TaskState.TASK_STATE_WORKING)));
        await new Promise<void>((resolve) => waiting.set(request.taskId, resolve));
        bus.publish(AgentEvent.task(task(TaskState.TASK_STATE_CANCELED, [text("stopped on request")])));
      } else if (said === "flood")
        bus.publish(
          AgentEvent.task(task(TaskState.TASK_STATE_COMPLETED, [], [text("x".repeat(10 * 1024 * 1024))])),
        );
      else if (said === "fail")
        bus.publish(AgentEvent.task(task(TaskState.TASK_STATE_FAILED, [text("the ledger is closed")])));
      else if (said === "reject")
        bus.publish(AgentEvent.task(task(TaskState.TASK_STATE_REJECTED, [text("not my job")])));
      else if (said === "ask")
        bus.publish(AgentEvent.task(task(TaskState.TASK_STATE_INPUT_REQUIRED, [text("which account?")])));
      else if (said === "data")
        bus.publish(
          AgentEvent.task(
            task(
              TaskState.TASK_STATE_COMPLETED,
              [],
              [
                text("two orders"),
                {
                  content: { $case: "data", value: { orders: [1, 2] } },
                  metadata: undefined,
                  filename: "",
                  mediaType: "application/json",
                },
              ],
            ),
          ),
        );
      else bus.publish(AgentEvent.task(task(TaskState.TASK_STATE_COMPLETED, [], [text(`echo: ${said}`)])));
      bus.finished();
    },
    async cancelTask(taskId: string) {
      cancelled.push(taskId);
      waiting.get(taskId)?.();
    },
  };

  let url = "";
  const agentCard = (): AgentCard => ({
    name: "echo",
    description: card.description,
    version: "1.0.0",
    supportedInterfaces: [{ url, protocolBinding: "JSONRPC", tenant: "", protocolVersion: "1.0" }],
    provider: undefined,
    capabilities: { streaming: false, pushNotifications: false, extensions: [], extendedAgentCard: false },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ["text/plain"],
    defaultOutputModes: ["text/plain"],
    skills: [
      {
        id: "echo",
        name: "echo",
        description: card.skillDescription,
        tags: [],
        examples: [],
        inputModes: [],
        outputModes: [],
        securityRequirements: [],
      },
    ],
    signatures: [],
  });
  const handler = new DefaultRequestHandler(agentCard(), new InMemoryTaskStore(), executor);
  const transport = new JsonRpcTransportHandler(handler);

  const server: Server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => {
      body += chunk;
    });
    request.on("end", () => {
      void (async () => {
        if (request.method === "GET") {
          response.writeHead(200, { "content-type": "application/json" });
          response.end(JSON.stringify(AgentCard.toJSON(agentCard())));
          return;
        }
        const rpc = JSON.parse(body) as {
          method: string;
          params?: { id?: string; message?: { messageId?: string } };
        };
        calls.push(rpc.method);
        if (rpc.params?.message?.messageId) messageIds.push(rpc.params.message.messageId);
        const answer = await transport.handle(rpc, new ServerCallContext({ requestedVersion: "1.0" }));
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify(answer));
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/a2a/echo`;
  return {
    url,
    cardUrl: `${url}/.well-known/agent-card.json`,
    calls,
    messageIds,
    cancelled,
    card,
    async close() {
      for (const release of waiting.values()) release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
