import { KeelError } from "../errors/index.ts";
import type { JournalEvent } from "../journal/index.ts";
import type { ApiClient } from "./api-client.ts";
import type { CliIo } from "./cli-io.ts";
import { formatEvent } from "./format-event.ts";
import { readSse } from "./read-sse.ts";

/**
 * `keel run <agent> <input>`: start a run on the server and stream its steps until it ends. Exits 0 when the
 * run completed, 1 when it failed, was cancelled or ran over budget.
 */
export async function runCommand(options: {
  client: ApiClient;
  io: CliIo;
  agent: string;
  input: string;
  json: boolean;
  idempotencyKey?: string;
}): Promise<number> {
  const { client, io } = options;
  const created = await client.call("createRun", {
    params: { name: options.agent },
    body: {
      input: options.input,
      ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey }),
    },
  });
  if (!options.json) {
    const agent = await client.call("getAgent", { params: { name: options.agent } });
    const offline = agent.model.offline ? " — offline stand-in, not a real model" : "";
    io.out(`model: ${agent.model.provider}/${agent.model.id}${offline}`);
  }
  let waitingFor: string | null = null;
  for await (const message of readSse({
    client,
    path: client.pathOf("runEvents", { params: { id: created.id } }),
    // A run that waits for a person stays in the store, maybe for days: stop following it here.
    isLast: (message) => message.event === "run-end" || message.event === "run-suspend",
  })) {
    // Model text as it is written: the journaled model-call-end and run-end carry it whole.
    if (message.event === "text-delta") continue;
    const event = JSON.parse(message.data) as JournalEvent;
    if (event.type === "run-suspend") waitingFor = event.payload.approvalId ?? "";
    if (options.json) continue;
    const line = formatEvent(event);
    if (line !== null) io.out(line);
  }
  const run = await client.call("getRun", { params: { id: created.id } });
  if (options.json) io.out(JSON.stringify(run, null, 2));
  if (waitingFor !== null) {
    if (!options.json) io.out(`\nwaiting for a person: keel approvals show ${waitingFor}`);
    return 3;
  }
  if (!options.json && run.status !== "completed" && run.explanation) io.out(`\n${run.explanation}`);
  return run.status === "completed" ? 0 : 1;
}

/** Parse `keel run`'s positional arguments: the agent and the input (the rest of the words joined). */
export function parseRunArguments(positionals: readonly string[]): { agent: string; input: string } {
  const [agent, ...words] = positionals;
  if (!agent) throw new KeelError("invalid_request", "usage: keel run <agent> <input…> [--json]");
  const input = words.join(" ").trim();
  if (input.length === 0)
    throw new KeelError(
      "invalid_request",
      `keel run ${agent}: give the input to send, e.g. keel run ${agent} "Where is my order 1042?"`,
    );
  return { agent, input };
}
