import { Gauge, type Registry } from "prom-client";
import type { ApprovalStatsRow } from "../store/index.ts";

/** One agent/tool pair's numbers. */
export type ApprovalMetricsEntry = {
  agent: string;
  tool: string | null;
  pending: number;
  overdue: number;
  approved: number;
  rejected: number;
  expired: number;
  resolved: number;
  withdrawn: number;
  /** approved / (approved + rejected + expired); null before any decision. */
  approvalRate: number | null;
  /** Mean seconds from request to decision, over decided requests. */
  meanDecisionSeconds: number | null;
  /** The slowest status group's p50 and p95 (percentiles of groups cannot be merged exactly). */
  decisionSecondsP50: number | null;
  decisionSecondsP95: number | null;
  /** For drafts: how often a person changed the draft before sending it. */
  drafts: number;
  draftEditRate: number | null;
};

/** The queue's health: depth by team, and per agent and tool the approval rate, time to decision, edit rate. */
export type ApprovalMetrics = {
  queueDepth: { routeTo: string; pending: number; overdue: number }[];
  byAgentTool: ApprovalMetricsEntry[];
  totals: { pending: number; overdue: number; decided: number; approvalRate: number | null };
};

const DECIDED = new Set(["approved", "rejected", "expired", "resolved"]);

/** Fold the store's grouped counts into the queue's metrics. */
export function approvalMetrics(rows: readonly ApprovalStatsRow[]): ApprovalMetrics {
  const routes = new Map<string, { routeTo: string; pending: number; overdue: number }>();
  const entries = new Map<
    string,
    ApprovalMetricsEntry & {
      decidedSeconds: number;
      decidedCount: number;
      editedDrafts: number;
      decidedDrafts: number;
    }
  >();
  for (const row of rows) {
    if (row.status === "pending") {
      const route = routes.get(row.routeTo) ?? { routeTo: row.routeTo, pending: 0, overdue: 0 };
      route.pending += row.count;
      route.overdue += row.overdue;
      routes.set(row.routeTo, route);
    }
    const key = `${row.agent}\u0000${row.tool ?? ""}`;
    const entry = entries.get(key) ?? {
      agent: row.agent,
      tool: row.tool,
      pending: 0,
      overdue: 0,
      approved: 0,
      rejected: 0,
      expired: 0,
      resolved: 0,
      withdrawn: 0,
      approvalRate: null,
      meanDecisionSeconds: null,
      decisionSecondsP50: null,
      decisionSecondsP95: null,
      drafts: 0,
      draftEditRate: null,
      decidedSeconds: 0,
      decidedCount: 0,
      editedDrafts: 0,
      decidedDrafts: 0,
    };
    entry[row.status] += row.count;
    entry.overdue += row.overdue;
    if (DECIDED.has(row.status)) {
      entry.decidedSeconds += row.decisionSecondsSum;
      entry.decidedCount += row.count;
      entry.decisionSecondsP50 = max(entry.decisionSecondsP50, row.decisionSecondsP50);
      entry.decisionSecondsP95 = max(entry.decisionSecondsP95, row.decisionSecondsP95);
    }
    if (row.kind === "draft") {
      entry.drafts += row.count;
      if (row.status === "approved") {
        entry.decidedDrafts += row.count;
        entry.editedDrafts += row.edited;
      }
    }
    entries.set(key, entry);
  }
  const byAgentTool = [...entries.values()].map(
    ({ decidedSeconds, decidedCount, editedDrafts, decidedDrafts, ...entry }) => {
      const judged = entry.approved + entry.rejected + entry.expired;
      return {
        ...entry,
        approvalRate: judged === 0 ? null : entry.approved / judged,
        meanDecisionSeconds: decidedCount === 0 ? null : decidedSeconds / decidedCount,
        draftEditRate: decidedDrafts === 0 ? null : editedDrafts / decidedDrafts,
      };
    },
  );
  const approved = byAgentTool.reduce((sum, entry) => sum + entry.approved, 0);
  const judged = byAgentTool.reduce((sum, entry) => sum + entry.approved + entry.rejected + entry.expired, 0);
  return {
    queueDepth: [...routes.values()].sort(
      (a, b) => b.pending - a.pending || a.routeTo.localeCompare(b.routeTo),
    ),
    byAgentTool,
    totals: {
      pending: byAgentTool.reduce((sum, entry) => sum + entry.pending, 0),
      overdue: byAgentTool.reduce((sum, entry) => sum + entry.overdue, 0),
      decided: byAgentTool.reduce(
        (sum, entry) => sum + entry.approved + entry.rejected + entry.expired + entry.resolved,
        0,
      ),
      approvalRate: judged === 0 ? null : approved / judged,
    },
  };
}

/**
 * The queue's numbers as gauges on the one metrics registry, read from the store when Prometheus scrapes (every
 * tenant's requests: `GET /metrics` belongs to the platform). One read serves all six gauges of a scrape.
 */
export function registerApprovalMetrics(
  registry: Registry,
  stats: () => Promise<readonly ApprovalStatsRow[]>,
): void {
  let last: { at: number; metrics: Promise<ApprovalMetrics> } | null = null;
  const read = (): Promise<ApprovalMetrics> => {
    if (!last || Date.now() - last.at > SCRAPE_WINDOW_MS)
      last = { at: Date.now(), metrics: stats().then(approvalMetrics) };
    return last.metrics;
  };
  const gauge = (
    name: string,
    help: string,
    labelNames: readonly string[],
    fill: (gauge: Gauge, metrics: ApprovalMetrics) => void,
  ) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        const metrics = await read();
        this.reset();
        fill(this, metrics);
      },
    });
  gauge("keel_approvals_pending", "Approval requests waiting for a person, by queue.", ["route"], (g, m) => {
    for (const route of m.queueDepth) g.set({ route: route.routeTo }, route.pending);
  });
  gauge(
    "keel_approvals_overdue",
    "Pending approval requests past their SLA, by queue.",
    ["route"],
    (g, m) => {
      for (const route of m.queueDepth) g.set({ route: route.routeTo }, route.overdue);
    },
  );
  const byAgentTool = ["agent", "tool"] as const;
  gauge(
    "keel_approval_requests",
    "Approval requests by agent, tool and status.",
    [...byAgentTool, "status"],
    (g, m) => {
      for (const entry of m.byAgentTool)
        for (const status of ["pending", "approved", "rejected", "expired", "resolved", "withdrawn"] as const)
          g.set({ agent: entry.agent, tool: entry.tool ?? "", status }, entry[status]);
    },
  );
  const perEntry = (name: string, help: string, value: (entry: ApprovalMetricsEntry) => number | null) =>
    gauge(name, help, byAgentTool, (g, m) => {
      for (const entry of m.byAgentTool) {
        const number = value(entry);
        if (number !== null) g.set({ agent: entry.agent, tool: entry.tool ?? "" }, number);
      }
    });
  perEntry(
    "keel_approval_rate",
    "Approved over approved, rejected and expired, by agent and tool.",
    (entry) => entry.approvalRate,
  );
  perEntry(
    "keel_approval_mean_decision_seconds",
    "Mean time from request to decision, by agent and tool.",
    (entry) => entry.meanDecisionSeconds,
  );
  perEntry(
    "keel_draft_edit_rate",
    "Drafts a person edited before sending, over drafts sent, by agent and tool.",
    (entry) => entry.draftEditRate,
  );
}

/** Gauges collected within this long of each other share one read of the store (one scrape). */
const SCRAPE_WINDOW_MS = 1_000;

function max(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}
