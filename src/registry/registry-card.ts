import { requiredGates, reviewCadenceDays } from "./lifecycle-rules.ts";
import type { Attestation, HistoryEntry, RegistryEntry } from "./registry-entry.ts";

/** Extra lines a card may carry: the agent's approval queue and numbers, when the caller has them. */
export type CardExtras = { approvals?: string[] };

const CADENCE = { 1: "quarterly", 2: "semi-annually", 3: "annually" } as const;

/**
 * The one-page registry card (not the A2A Agent Card a client reads to reach the agent): what the agent is for, who owns it, its risk tier and scope, where it is in its
 * lifecycle, each deployment gate with who attested it, when and the evidence, its reviews, and recent history.
 */
export function renderRegistryCard(
  entry: RegistryEntry,
  attestations: readonly Attestation[],
  history: readonly HistoryEntry[],
  extras: CardExtras = {},
): string {
  const day = (date: Date | null) => (date ? date.toISOString().slice(0, 10) : "—");
  const latest = new Map<string, Attestation>();
  for (const attestation of attestations)
    if (!latest.has(attestation.gate)) latest.set(attestation.gate, attestation);
  const gates = requiredGates(entry.riskTier).map((gate) => {
    const attested = latest.get(gate);
    if (!attested) return `  ✖ ${gate.padEnd(20)} not attested`;
    const score =
      gate === "eval_results"
        ? ` (score ${attested.details.score} ≥ ${attested.details.threshold})`
        : gate === "cost_projection"
          ? ` (${attested.details.monthlyUsd} USD/month)`
          : "";
    return `  ✔ ${gate.padEnd(20)} ${attested.attestedBy}, ${day(attested.attestedAt)}${score} — ${attested.evidence}`;
  });
  const tools = entry.scope.tools.map(
    (tool) =>
      `  ${tool.name.padEnd(16)} data: ${tool.dataClasses.join(", ")}${tool.sideEffect ? "; changes things" : ""}${tool.sendsDataOutside ? "; sends data outside" : ""}`,
  );
  const access = entry.scope.dataAccess;
  const lines = [
    `${`REGISTRY CARD — ${entry.agent} ${entry.version}`.padEnd(70)}status: ${entry.status.toUpperCase()}`,
    "=".repeat(86),
    entry.description,
    "",
    `Owner        ${entry.owner.team ?? "(none)"} — ${entry.owner.person ?? "(no person)"}`,
    `Risk tier    ${entry.riskTier} (reviewed ${CADENCE[entry.riskTier]}, every ${reviewCadenceDays(entry.riskTier)} days)`,
    `Deployed     ${day(entry.deployedAt)}    last review ${day(entry.lastReviewAt)}    next review due ${day(entry.reviewDueAt)}`,
    `Flags        ${entry.flags.length > 0 ? entry.flags.join(", ") : "none"}${entry.reviewReason ? ` (review asked for: ${entry.reviewReason})` : ""}`,
    `Spec         ${entry.specHash}`,
    "",
    "Scope",
    ...tools,
    `  data access: personal data ${access.allowPii ? "allowed" : "not allowed"}, financial data ${access.allowFinancial ? "allowed" : "not allowed"}${access.maxRecordsPerQuery === null ? "" : `, at most ${access.maxRecordsPerQuery} records per query`}`,
    "",
    `Deployment gates (tier ${entry.riskTier})`,
    ...gates,
    ...(entry.status !== "active" && entry.blockers.length > 0
      ? [`  cannot become active: ${entry.blockers.join("; ")}`]
      : []),
    ...(extras.approvals && extras.approvals.length > 0
      ? ["", "Human review", ...extras.approvals.map((line) => `  ${line}`)]
      : []),
    "",
    "Recent history",
    ...(history.length === 0
      ? ["  —"]
      : history
          .slice(0, 8)
          .map(
            (item) =>
              `  ${item.at.toISOString().slice(0, 16).replace("T", " ")}  ${item.actor}: ${describe(item)}`,
          )),
  ];
  return lines.join("\n");
}

function describe(item: HistoryEntry): string {
  const details = item.details as Record<string, unknown>;
  switch (item.action) {
    case "status":
      return `${item.version} ${details.from} → ${details.to}${details.reason ? ` (${details.reason})` : ""}`;
    case "attested":
      return `attested ${details.gate} for ${item.version}`;
    case "reviewed":
      return `reviewed ${item.version}`;
    case "incident":
      return `incident: ${details.description}`;
    case "review_requested":
      return `review asked for ${item.version}: ${details.reason}`;
    default:
      return `${item.action}${item.version ? ` ${item.version}` : ""}`;
  }
}
