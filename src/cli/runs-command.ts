import type { Answer, CallInput } from "../client/index.ts";
import { KeelError } from "../errors/index.ts";
import type { ApiClient } from "./api-client.ts";
import type { CliIo } from "./cli-io.ts";

/**
 * `keel runs list`: the newest runs, one line each, a page at a time. The command for the next page goes to stderr,
 * so stdout (and `--json`'s array) stays the listing alone.
 */
export async function runsListCommand(options: {
  client: ApiClient;
  io: CliIo;
  agent?: string;
  status?: string;
  limit?: string;
  cursor?: string;
  json: boolean;
}): Promise<number> {
  // The flags go as typed: the server checks each and names a bad one.
  const query = {
    ...(options.agent ? { agent: options.agent } : {}),
    ...(options.status ? { status: options.status } : {}),
    ...(options.limit ? { limit: options.limit } : {}),
    ...(options.cursor ? { cursor: options.cursor } : {}),
  } as CallInput<"listRuns">["query"];
  const { runs, nextCursor } = await options.client.call("listRuns", { query });
  if (options.json) {
    options.io.out(JSON.stringify(runs, null, 2));
  } else if (runs.length === 0) {
    options.io.out("no runs");
  } else {
    for (const run of runs) {
      const input = run.input.length > 50 ? `${run.input.slice(0, 49)}…` : run.input;
      options.io.out(
        `${run.id}  ${run.createdAt}  ${run.agent}@${run.agentVersion}  ${run.status.padEnd(15)}  ${input}`,
      );
    }
  }
  if (nextCursor !== null) options.io.err(`more runs: ${nextPageCommand(options, nextCursor)}`);
  return 0;
}

/** The same listing's next page as a command to paste: the filters as given, and the page's cursor. */
function nextPageCommand(
  options: { agent?: string; status?: string; limit?: string; json: boolean },
  cursor: string,
) {
  return [
    "keel runs list",
    ...(options.agent ? [`--agent ${options.agent}`] : []),
    ...(options.status ? [`--status ${options.status}`] : []),
    ...(options.limit ? [`--limit ${options.limit}`] : []),
    ...(options.json ? ["--json"] : []),
    `--cursor ${cursor}`,
  ].join(" ");
}

/** `keel runs show <id>`: a run's state and its steps. */
export async function runsShowCommand(options: {
  client: ApiClient;
  io: CliIo;
  runId: string;
  json: boolean;
}): Promise<number> {
  const run = await options.client.call("getRun", { params: { id: options.runId } });
  if (options.json) {
    options.io.out(JSON.stringify(run, null, 2));
    return 0;
  }
  const { io } = options;
  io.out(`run      ${run.id}`);
  io.out(`agent    ${run.agent}@${run.agentVersion}`);
  io.out(`status   ${run.status}`);
  io.out(`created  ${run.createdAt}`);
  io.out(`events   ${run.events}`);
  io.out(`input    ${run.input}`);
  if (run.answer !== null) io.out(`answer   ${run.answer}`);
  if (run.error !== null) io.out(`error    ${run.error.code}: ${run.error.message}`);
  return 0;
}

type TreeNode = Answer<"getRunTree">["children"][number];

/** `keel runs tree <id>`: the run and its child runs, one line each, indented under the run that started them. */
export async function runsTreeCommand(options: {
  client: ApiClient;
  io: CliIo;
  runId: string;
  json: boolean;
}): Promise<number> {
  const tree = await options.client.call("getRunTree", { params: { id: options.runId } });
  if (options.json) {
    options.io.out(JSON.stringify(tree, null, 2));
    return 0;
  }
  const print = (node: TreeNode, depth: number) => {
    const indent = "  ".repeat(depth);
    const startedBy = node.parentNode === null ? "" : `  node ${node.parentNode}`;
    options.io.out(`${indent}${node.id}  ${node.agent}  ${node.status}${startedBy}`);
    for (const child of node.children) print(child, depth + 1);
    if (node.moreChildren) options.io.out(`${indent}  … more children than shown`);
  };
  print(tree, 0);
  if (tree.truncated) options.io.out(`(${tree.runs} runs shown; the tree has more)`);
  return 0;
}

/** `keel signal <run> <name>`: deliver a signal, its payload given as JSON text. */
export async function signalCommand(options: {
  client: ApiClient;
  io: CliIo;
  runId: string;
  name: string;
  payload?: string;
  idempotencyKey?: string;
}): Promise<number> {
  let payload: unknown;
  if (options.payload !== undefined) {
    try {
      payload = JSON.parse(options.payload);
    } catch (error) {
      throw new KeelError("invalid_request", `--payload is not JSON: ${(error as Error).message}`, {
        issues: [{ path: "--payload", message: "expected JSON" }],
      });
    }
  }
  const sent = await options.client.call("sendSignal", {
    params: { id: options.runId, name: options.name },
    body: {
      ...(payload === undefined ? {} : { payload }),
      ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey }),
    },
  });
  const what = sent.duplicate ? "already delivered" : "delivered";
  options.io.out(
    `signal ${sent.name} ${what} to ${sent.runId} as event ${sent.seq}${sent.resumed ? "; the run resumes" : ""}`,
  );
  return 0;
}
