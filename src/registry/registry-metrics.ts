import type { RegistryEntry } from "./registry-entry.ts";

/** Counts for dashboards: versions by status, overdue reviews, orphans, reviews asked for. */
export function registrySummary(entries: readonly RegistryEntry[]) {
  const byStatus: Record<string, number> = { draft: 0, in_review: 0, active: 0, paused: 0, retired: 0 };
  for (const entry of entries) byStatus[entry.status] = (byStatus[entry.status] ?? 0) + 1;
  const flagged = (flag: string) => entries.filter((entry) => entry.flags.includes(flag));
  return {
    byStatus,
    reviewOverdue: flagged("review_overdue").map((entry) => `${entry.agent}@${entry.version}`),
    adHocReview: flagged("ad_hoc_review").map((entry) => `${entry.agent}@${entry.version}`),
    orphans: flagged("orphan").map((entry) => `${entry.agent}@${entry.version}`),
  };
}

/** The registry's numbers in the Prometheus text format. */
export function registryMetricsText(entries: readonly RegistryEntry[]): string {
  const lines = [
    "# HELP keel_agent_versions Agent versions in the registry, by status.",
    "# TYPE keel_agent_versions gauge",
  ];
  const summary = registrySummary(entries);
  for (const [status, count] of Object.entries(summary.byStatus))
    lines.push(`keel_agent_versions{status="${status}"} ${count}`);
  lines.push(
    "# HELP keel_agent_review_overdue 1 when the version's scheduled review is overdue.",
    "# TYPE keel_agent_review_overdue gauge",
  );
  lines.push(
    "# HELP keel_agent_orphaned 1 when the version has no owner.",
    "# TYPE keel_agent_orphaned gauge",
  );
  for (const entry of entries) {
    if (entry.status === "retired") continue;
    const labels = `agent="${entry.agent}",version="${entry.version}",tier="${entry.riskTier}"`;
    lines.push(`keel_agent_review_overdue{${labels}} ${entry.flags.includes("review_overdue") ? 1 : 0}`);
    lines.push(`keel_agent_orphaned{${labels}} ${entry.flags.includes("orphan") ? 1 : 0}`);
  }
  return `${lines.join("\n")}\n`;
}
