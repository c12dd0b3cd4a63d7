import type { SqlClient } from "../store/index.ts";

/** Per shadow policy: how many decisions it would have changed, and to what. */
export type ShadowPolicyRow = {
  policy: string;
  decisions: number;
  wouldDeny: number;
  wouldReview: number;
  wouldAllow: number;
};

/** What an agent's shadow (log-only) policies would have changed, read from the journal's decisions. */
export type ShadowReport = {
  agent: string;
  /** Decisions journaled for the agent. */
  decisions: number;
  /** Decisions where the shadow policies would have decided otherwise. */
  changed: number;
  byPolicy: ShadowPolicyRow[];
  /** The latest changed decisions, newest first. */
  examples: {
    runId: string;
    seq: number;
    target: string | null;
    decision: string;
    shadow: string;
    policies: string[];
  }[];
};

type Row = { run_id: string; seq: number; payload: unknown };
type Payload = {
  decision: string;
  target?: string;
  shadow?: { decision: string; policies: string[] };
};

/**
 * The shadow report of an agent: every journaled decision of the agent that recorded a shadow outcome, grouped by
 * the shadow policies that made the difference. A projection of the journal (invariant 8), so it can be rebuilt.
 */
export async function shadowReport(
  sql: SqlClient,
  agent: string,
  options: { examples?: number } = {},
): Promise<ShadowReport> {
  const total = await sql.query<{ count: string | number }>(
    `SELECT count(*) AS count FROM keel_events WHERE type = 'policy-decision' AND payload::json->'agent'->>'name' = $1`,
    [agent],
  );
  const { rows } = await sql.query<Row>(
    `SELECT run_id, seq, payload::json AS payload FROM keel_events
      WHERE type = 'policy-decision' AND payload::json->'agent'->>'name' = $1 AND payload::jsonb ? 'shadow'
      ORDER BY at DESC, run_id, seq DESC`,
    [agent],
  );
  const byPolicy = new Map<string, ShadowPolicyRow>();
  const examples: ShadowReport["examples"] = [];
  for (const row of rows) {
    const payload = (typeof row.payload === "string" ? JSON.parse(row.payload) : row.payload) as Payload;
    const shadow = payload.shadow;
    if (!shadow) continue;
    for (const policy of shadow.policies.length > 0 ? shadow.policies : ["(none permits)"]) {
      const entry = byPolicy.get(policy) ?? {
        policy,
        decisions: 0,
        wouldDeny: 0,
        wouldReview: 0,
        wouldAllow: 0,
      };
      entry.decisions += 1;
      if (shadow.decision === "deny") entry.wouldDeny += 1;
      else if (shadow.decision === "review") entry.wouldReview += 1;
      else entry.wouldAllow += 1;
      byPolicy.set(policy, entry);
    }
    if (examples.length < (options.examples ?? 20)) {
      examples.push({
        runId: row.run_id,
        seq: Number(row.seq),
        target: payload.target ?? null,
        decision: payload.decision,
        shadow: shadow.decision,
        policies: shadow.policies,
      });
    }
  }
  return {
    agent,
    decisions: Number(total.rows[0]?.count ?? 0),
    changed: rows.length,
    byPolicy: [...byPolicy.values()].sort(
      (a, b) => b.decisions - a.decisions || a.policy.localeCompare(b.policy),
    ),
    examples,
  };
}
