import { Gauge, type Registry as MetricsRegistry } from "prom-client";
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

/**
 * The registry's numbers as gauges on the one metrics registry, read when Prometheus scrapes (every tenant's
 * versions: `GET /metrics` belongs to the platform). One read serves the three gauges of a scrape.
 */
export function registerRegistryMetrics(
  registry: MetricsRegistry,
  list: () => Promise<readonly RegistryEntry[]>,
): void {
  let last: { at: number; entries: Promise<readonly RegistryEntry[]> } | null = null;
  const read = (): Promise<readonly RegistryEntry[]> => {
    if (!last || Date.now() - last.at > SCRAPE_WINDOW_MS) last = { at: Date.now(), entries: list() };
    return last.entries;
  };
  new Gauge({
    name: "keel_agent_versions",
    help: "Agent versions in the registry, by status.",
    labelNames: ["status"],
    registers: [registry],
    async collect() {
      const summary = registrySummary(await read());
      this.reset();
      for (const [status, count] of Object.entries(summary.byStatus)) this.set({ status }, count);
    },
  });
  const flag = (name: string, help: string, flagName: string) =>
    new Gauge({
      name,
      help,
      labelNames: ["agent", "version", "tier"],
      registers: [registry],
      async collect() {
        const entries = await read();
        this.reset();
        for (const entry of entries) {
          if (entry.status === "retired") continue;
          const labels = { agent: entry.agent, version: entry.version, tier: entry.riskTier };
          this.set(labels, entry.flags.includes(flagName) ? 1 : 0);
        }
      },
    });
  flag("keel_agent_review_overdue", "1 when the version's scheduled review is overdue.", "review_overdue");
  flag("keel_agent_orphaned", "1 when the version has no owner.", "orphan");
}

/** Gauges collected within this long of each other share one read of the registry (one scrape). */
const SCRAPE_WINDOW_MS = 1_000;
