import type { ApiClient } from "./api-client.ts";
import type { CliIo } from "./cli-io.ts";

/**
 * `keel autonomy <agent> [--json]`: how people decided each class of the agent's held calls, and the changes to
 * `governance.decisionAuthority` that evidence supports, as diffs to review. Nothing is applied.
 */
export async function autonomyCommand(options: {
  client: ApiClient;
  io: CliIo;
  agent: string;
  json: boolean;
}): Promise<number> {
  const report = await options.client.call("agentAutonomy", { params: { name: options.agent } });
  if (options.json) {
    options.io.out(JSON.stringify(report, null, 2));
    return 0;
  }
  const { settings } = report;
  options.io.out(
    `${report.agent}@${report.version}: a class of held calls is proposed as autonomous when the lower bound of its approved-unchanged rate (${Math.round(settings.confidence * 100)}% Wilson) reaches ${percent(settings.threshold)} over at least ${settings.minDecisions} decisions`,
  );
  for (const evidence of report.classes) {
    options.io.out(
      `  ${evidence.description}: ${evidence.approvedUnchanged} of ${evidence.decided} approved unchanged (${evidence.approvedEdited} edited, ${evidence.rejected} rejected, ${evidence.expired} expired), ${percent(evidence.interval.low)}–${percent(evidence.interval.high)}: ${evidence.status}`,
    );
  }
  if (report.proposals.length === 0) {
    options.io.out("no proposals");
    return 0;
  }
  for (const proposal of report.proposals) {
    options.io.out(`\n${proposal.kind} ${proposal.description}: ${proposal.reason}\n${proposal.diff}`);
  }
  options.io.out(
    "apply a proposal by editing agent.yaml and deploying the new version; Keel never applies it",
  );
  return 0;
}

function percent(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}
