import type { ApiClient } from "./api-client.ts";
import type { CliIo } from "./cli-io.ts";

type RunView = {
  id: string;
  agent: string;
  agentVersion: string;
  status: string;
  input: string;
  answer: string | null;
  error: { code: string; message: string } | null;
  events: number;
  createdAt: string;
};

/** `keel runs list`: the newest runs, one line each. */
export async function runsListCommand(options: {
  client: ApiClient;
  io: CliIo;
  agent?: string;
  status?: string;
  limit?: string;
  json: boolean;
}): Promise<number> {
  const query = new URLSearchParams();
  if (options.agent) query.set("agent", options.agent);
  if (options.status) query.set("status", options.status);
  if (options.limit) query.set("limit", options.limit);
  const { runs } = await options.client.request<{ runs: RunView[] }>("GET", `/v1/runs?${query}`);
  if (options.json) {
    options.io.out(JSON.stringify(runs, null, 2));
    return 0;
  }
  if (runs.length === 0) {
    options.io.out("no runs");
    return 0;
  }
  for (const run of runs) {
    const input = run.input.length > 50 ? `${run.input.slice(0, 49)}…` : run.input;
    options.io.out(
      `${run.id}  ${run.createdAt}  ${run.agent}@${run.agentVersion}  ${run.status.padEnd(15)}  ${input}`,
    );
  }
  return 0;
}

/** `keel runs show <id>`: a run's state and its steps. */
export async function runsShowCommand(options: {
  client: ApiClient;
  io: CliIo;
  runId: string;
  json: boolean;
}): Promise<number> {
  const run = await options.client.request<RunView>("GET", `/v1/runs/${encodeURIComponent(options.runId)}`);
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
