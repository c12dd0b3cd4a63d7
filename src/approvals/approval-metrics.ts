import type { ApprovalStatsRow } from "../store/store.ts";

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

/** The same numbers in the Prometheus text exposition format, for a scraper or the telemetry registry. */
export function approvalMetricsText(metrics: ApprovalMetrics): string {
  const lines: string[] = [];
  const family = (name: string, type: string, help: string) =>
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  family("keel_approvals_pending", "gauge", "Approval requests waiting for a person, by queue.");
  for (const route of metrics.queueDepth)
    lines.push(`keel_approvals_pending{route="${label(route.routeTo)}"} ${route.pending}`);
  family("keel_approvals_overdue", "gauge", "Pending approval requests past their SLA, by queue.");
  for (const route of metrics.queueDepth)
    lines.push(`keel_approvals_overdue{route="${label(route.routeTo)}"} ${route.overdue}`);
  family("keel_approval_requests", "gauge", "Approval requests by agent, tool and status.");
  family("keel_approval_rate", "gauge", "Approved over approved, rejected and expired, by agent and tool.");
  family(
    "keel_approval_decision_seconds_mean",
    "gauge",
    "Mean time from request to decision, by agent and tool.",
  );
  family(
    "keel_draft_edit_rate",
    "gauge",
    "Drafts a person edited before sending, over drafts sent, by agent and tool.",
  );
  for (const entry of metrics.byAgentTool) {
    const labels = `agent="${label(entry.agent)}",tool="${label(entry.tool ?? "")}"`;
    for (const status of ["pending", "approved", "rejected", "expired", "resolved", "withdrawn"] as const) {
      lines.push(`keel_approval_requests{${labels},status="${status}"} ${entry[status]}`);
    }
    if (entry.approvalRate !== null) lines.push(`keel_approval_rate{${labels}} ${entry.approvalRate}`);
    if (entry.meanDecisionSeconds !== null)
      lines.push(`keel_approval_decision_seconds_mean{${labels}} ${entry.meanDecisionSeconds}`);
    if (entry.draftEditRate !== null) lines.push(`keel_draft_edit_rate{${labels}} ${entry.draftEditRate}`);
  }
  return `${lines.join("\n")}\n`;
}

function max(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}

function label(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}
