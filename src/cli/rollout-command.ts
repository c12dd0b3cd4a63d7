import { parseArgs } from "node:util";
import type { Answer } from "../client/index.ts";
import { connectApiClient } from "./api-client.ts";
import type { CliIo } from "./cli-io.ts";
import { reportCliError, usageError } from "./report-cli-error.ts";

/** Usage of `keel rollout`, for `keel --help` and usage errors. */
export const ROLLOUT_USAGE = `  rollout start <agent> --to <version> [--strategy shadow|canary|ab|direct]
                                   move traffic to a candidate version (default: its spec's rollout.strategy)
  rollout status <agent> [--json]  the version serving, the deployment, its history and the stage's verdict
  rollout promote|pause|resume|abort|rollback <agent> [--reason R]
                                   act on the rollout by hand (rollback also undoes a promotion)`;

const OPTIONS = {
  url: { type: "string" },
  "api-key-file": { type: "string" },
  json: { type: "boolean" },
  to: { type: "string" },
  strategy: { type: "string" },
  reason: { type: "string" },
} as const;

const STRATEGIES = ["shadow", "canary", "ab", "direct"] as const;
const ACTIONS = {
  promote: "promoteRollout",
  pause: "pauseRollout",
  resume: "resumeRollout",
  abort: "abortRollout",
  rollback: "rollbackRollout",
} as const;

type Deployment = Answer<"startRollout">;

/** `keel rollout …`: it parses its own flags. */
export async function rolloutCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    const [, sub, agent, ...extra] = positionals;
    if (sub === undefined) throw usageError("keel rollout needs a command", ROLLOUT_USAGE);
    if (!agent || extra.length > 0) throw usageError(`keel rollout ${sub} takes one agent`, ROLLOUT_USAGE);
    const client = connectApiClient(io, values);
    if (sub === "start") {
      if (!values.to) throw usageError("keel rollout start needs --to <version>", ROLLOUT_USAGE);
      const strategy = values.strategy;
      if (strategy !== undefined && !(STRATEGIES as readonly string[]).includes(strategy))
        throw usageError(
          `--strategy must be one of ${STRATEGIES.join(", ")}, not "${strategy}"`,
          ROLLOUT_USAGE,
        );
      const deployment = await client.call("startRollout", {
        params: { name: agent },
        body: { to: values.to, ...(strategy ? { strategy: strategy as (typeof STRATEGIES)[number] } : {}) },
      });
      io.out(describe(deployment));
      return 0;
    }
    if (sub === "status") {
      const status = await client.call("rolloutStatus", { params: { name: agent } });
      if (values.json) {
        io.out(JSON.stringify(status, null, 2));
        return 0;
      }
      io.out(`${status.agent}: serving ${status.serving} (versions loaded: ${status.versions.join(", ")})`);
      if (!status.deployment) io.out("no rollout yet");
      else io.out(describe(status.deployment));
      if (status.verdict) io.out(`  now: ${status.verdict.reason}`);
      for (const metric of status.comparison?.metrics ?? [])
        io.out(
          `  ${metric.conclusion}${metric.pValue === null ? "" : ` (${metric.test}, p = ${metric.pValue.toPrecision(2)})`}`,
        );
      for (const event of status.history)
        io.out(
          `  ${event.at}  ${event.kind} at ${event.candidatePercent}% by ${event.actor}: ${event.reason}`,
        );
      return 0;
    }
    if (sub in ACTIONS) {
      const route = ACTIONS[sub as keyof typeof ACTIONS];
      const deployment = await client.call(route, {
        params: { name: agent },
        body: values.reason === undefined ? {} : { reason: values.reason },
      });
      io.out(describe(deployment));
      return 0;
    }
    throw usageError(`unknown command "rollout ${sub}"`, ROLLOUT_USAGE);
  } catch (error) {
    return reportCliError(error, io, ROLLOUT_USAGE);
  }
}

function describe(deployment: Deployment): string {
  return `${deployment.agent} ${deployment.stableVersion} → ${deployment.candidateVersion}: ${deployment.strategy}, ${deployment.state}, candidate at ${deployment.candidatePercent}% (stage ${deployment.stage + 1} of ${deployment.plan.stages.length}; ${deployment.deploymentId})`;
}
