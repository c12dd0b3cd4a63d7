import { KeelError } from "../errors/keel-error.ts";
import type { ApiClient } from "./api-client.ts";
import type { CliIo } from "./cli-io.ts";

/** What a kill or resume names: an agent, a tenant, or everything. */
export type KillTargetArguments = { agent?: string; tenant?: string; all: boolean };

function routeOf(target: KillTargetArguments, verb: "kill" | "resume"): { path: string; label: string } {
  const named = [target.agent !== undefined, target.tenant !== undefined, target.all].filter(Boolean).length;
  if (named !== 1)
    throw new KeelError("invalid_request", `keel ${verb} needs exactly one of: <agent>, --tenant T, --all`);
  if (target.all) return { path: `/v1/${verb}`, label: "everything" };
  if (target.tenant !== undefined) {
    return {
      path: `/v1/tenants/${encodeURIComponent(target.tenant)}/${verb}`,
      label: `tenant ${target.tenant}`,
    };
  }
  return { path: `/v1/agents/${encodeURIComponent(target.agent!)}/${verb}`, label: `agent ${target.agent}` };
}

/**
 * `keel kill <agent> | --tenant T | --all [--reason R]`: throw a kill switch. When it returns, the server has
 * aborted the covered tool calls in flight and allows no new action; other workers follow on their next refresh.
 */
export async function killCommand(options: {
  client: ApiClient;
  io: CliIo;
  target: KillTargetArguments;
  reason?: string;
}): Promise<number> {
  const { path, label } = routeOf(options.target, "kill");
  const body = options.reason === undefined ? {} : { reason: options.reason };
  const { killed } = await options.client.request<{ killed: { killedAt: string; killedBy: string } }>(
    "POST",
    path,
    body,
  );
  options.io.out(`killed ${label} at ${killed.killedAt} (by ${killed.killedBy}); resume with keel resume`);
  return 0;
}

/** `keel resume <agent> | --tenant T | --all`: lift a kill switch. */
export async function resumeCommand(options: {
  client: ApiClient;
  io: CliIo;
  target: KillTargetArguments;
}): Promise<number> {
  const { path, label } = routeOf(options.target, "resume");
  await options.client.request("POST", path);
  options.io.out(`resumed ${label}`);
  return 0;
}

/** `keel kill-switches`: the kill switches thrown now. */
export async function killSwitchesCommand(options: {
  client: ApiClient;
  io: CliIo;
  json: boolean;
}): Promise<number> {
  const { killSwitches } = await options.client.request<{
    killSwitches: { scope: string; target: string; reason: string; killedBy: string; killedAt: string }[];
  }>("GET", "/v1/kill-switches");
  if (options.json) options.io.out(JSON.stringify(killSwitches, null, 2));
  else if (killSwitches.length === 0) options.io.out("no kill switch is thrown");
  else
    for (const kill of killSwitches)
      options.io.out(
        `${kill.scope} ${kill.target}  since ${kill.killedAt} by ${kill.killedBy}: ${kill.reason}`,
      );
  return 0;
}
