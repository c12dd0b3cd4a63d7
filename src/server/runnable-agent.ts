import type { RolloutController, RunRoute } from "../deployments/index.ts";
import { KeelError } from "../errors/index.ts";
import type { Principal } from "../journal/index.ts";
import type { Registry } from "../registry/index.ts";
import { type AgentCatalog, startRun } from "../runtime/index.ts";
import type { RunRecord, Store } from "../store/index.ts";

/** Who a new run is for, so an open deployment can assign it by its sticky key. */
export type RunRequest = {
  principal: Principal;
  subject?: string;
  sessionId?: string;
  idempotencyKey?: string;
};

/** The version (and deployment arm) a new run of an agent gets, once the registry lets that version serve runs. */
export type RunnableAgent = (name: string, request?: RunRequest) => Promise<RunRoute>;

/**
 * Choose the version a new run uses: with a rollout controller, the one its deployment assigns it (the version it
 * serves when there is none); without, the current one. With `requireActiveAgents`, the chosen version must be
 * active in the registry.
 */
export function createRunnableAgent(options: {
  agents: AgentCatalog;
  rollouts?: RolloutController;
  registry?: Registry;
  requireActiveAgents?: boolean;
}): RunnableAgent {
  const { agents, rollouts, registry } = options;
  return async (name, request) => {
    const route = rollouts
      ? request
        ? await rollouts.route({ name, ...request })
        : await rollouts.serving(name).then((agent) => (agent ? { agent } : undefined))
      : agents.current(name) && { agent: agents.current(name)! };
    if (!route) throw new KeelError("not_found", `no agent named "${name}"`);
    if (registry && options.requireActiveAgents) {
      const runnable = await registry.runnable(route.agent.name, route.agent.version);
      if (!runnable.ok)
        throw new KeelError(
          "conflict",
          `${runnable.reason}: it may not serve runs (see keel agents card ${name})`,
        );
    }
    return route;
  };
}

/**
 * Under a shadow deployment, start the candidate's shadow of a live run just created: the same input and principal,
 * `shadowOf` the live run, so its side effects are answered and never executed and it reaches no user.
 */
export async function startShadowOf(options: {
  store: Store;
  route: RunRoute;
  live: RunRecord;
  created: boolean;
  input: string;
  principal: Principal;
  subject?: string;
}): Promise<void> {
  if (!options.route.shadow || !options.created) return;
  await startRun({
    store: options.store,
    agent: options.route.shadow,
    input: options.input,
    principal: options.principal,
    shadowOf: { runId: options.live.runId },
    ...(options.subject === undefined ? {} : { subject: options.subject }),
  });
}
