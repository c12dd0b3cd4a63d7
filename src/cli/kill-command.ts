import { KeelError } from "../errors/index.ts";
import type { ApiClient } from "./api-client.ts";
import type { CliIo } from "./cli-io.ts";

/** What a kill or resume names: an agent, a tenant, or everything. */
export type KillTargetArguments = { agent?: string; tenant?: string; all: boolean };

/** Which switch a command names, checked: exactly one of an agent, a tenant, or everything. */
type Switch = { label: string } & ({ all: true } | { tenant: string } | { agent: string });

function switchOf(target: KillTargetArguments, verb: "kill" | "resume"): Switch {
  const named = [target.agent !== undefined, target.tenant !== undefined, target.all].filter(Boolean).length;
  if (named !== 1)
    throw new KeelError("invalid_request", `keel ${verb} needs exactly one of: <agent>, --tenant T, --all`);
  if (target.all) return { label: "everything", all: true };
  if (target.tenant !== undefined) return { label: `tenant ${target.tenant}`, tenant: target.tenant };
  return { label: `agent ${target.agent}`, agent: target.agent! };
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
  const body = options.reason === undefined ? {} : { reason: options.reason };
  const named = switchOf(options.target, "kill");
  const { client } = options;
  const { killed } =
    "all" in named
      ? await client.call("killAll", { body })
      : "tenant" in named
        ? await client.call("killTenant", { params: { tenant: named.tenant }, body })
        : await client.call("killAgent", { params: { name: named.agent }, body });
  const { label } = named;
  options.io.out(`killed ${label} at ${killed.killedAt} (by ${killed.killedBy}); resume with keel resume`);
  return 0;
}

/** `keel resume <agent> | --tenant T | --all`: lift a kill switch. */
export async function resumeCommand(options: {
  client: ApiClient;
  io: CliIo;
  target: KillTargetArguments;
}): Promise<number> {
  const named = switchOf(options.target, "resume");
  const { client } = options;
  if ("all" in named) await client.call("resumeAll");
  else if ("tenant" in named) await client.call("resumeTenant", { params: { tenant: named.tenant } });
  else await client.call("resumeAgent", { params: { name: named.agent } });
  const { label } = named;
  options.io.out(`resumed ${label}`);
  return 0;
}

/** `keel kill-switches`: the kill switches thrown now. */
export async function killSwitchesCommand(options: {
  client: ApiClient;
  io: CliIo;
  json: boolean;
}): Promise<number> {
  const { killSwitches } = await options.client.call("listKillSwitches");
  if (options.json) options.io.out(JSON.stringify(killSwitches, null, 2));
  else if (killSwitches.length === 0) options.io.out("no kill switch is thrown");
  else
    for (const kill of killSwitches)
      options.io.out(
        `${kill.scope} ${kill.target}  since ${kill.killedAt} by ${kill.killedBy}: ${kill.reason}`,
      );
  return 0;
}
