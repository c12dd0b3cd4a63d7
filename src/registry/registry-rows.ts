import type { SqlClient } from "../store/index.ts";
import { type AgentStatus, activationBlockers, type Gate, reviewState } from "./lifecycle-rules.ts";
import type { AgentScope, Attestation, HistoryEntry, RegistryEntry } from "./registry-entry.ts";

export const ENTRY_COLUMNS = `agent, version, spec_hash, description, owner_team, owner_person, risk_tier, scope, status,
  registered_at, deployed_at, last_review_at, review_requested_at, review_reason, flags`;

export type EntryRow = {
  agent: string;
  version: string;
  spec_hash: string;
  description: string;
  owner_team: string | null;
  owner_person: string | null;
  risk_tier: number;
  scope: AgentScope;
  status: AgentStatus;
  registered_at: Date;
  deployed_at: Date | null;
  last_review_at: Date | null;
  review_requested_at: Date | null;
  review_reason: string | null;
  flags: string[];
};

type AttestationRow = {
  id: number | string;
  agent: string;
  version: string;
  gate: Gate;
  attested_by: string;
  attested_at: Date;
  evidence: string;
  details: Record<string, unknown>;
};

/** Map an attestation row. */
export function toAttestation(row: AttestationRow): Attestation {
  return {
    id: Number(row.id),
    agent: row.agent,
    version: row.version,
    gate: row.gate,
    attestedBy: row.attested_by,
    attestedAt: row.attested_at,
    evidence: row.evidence,
    details: row.details,
  };
}

/** The latest attestation of each gate, for these versions. */
export async function latestAttestations(
  sql: SqlClient,
  keys: readonly { agent: string; version: string }[],
): Promise<Map<string, Map<Gate, Attestation>>> {
  const byVersion = new Map<string, Map<Gate, Attestation>>();
  if (keys.length === 0) return byVersion;
  const { rows } = await sql.query<AttestationRow>(
    `SELECT DISTINCT ON (agent, version, gate) id, agent, version, gate, attested_by, attested_at, evidence, details
       FROM keel_registry_attestations
      WHERE (agent, version) IN (SELECT * FROM unnest($1::text[], $2::text[]))
      ORDER BY agent, version, gate, attested_at DESC, id DESC`,
    [keys.map((key) => key.agent), keys.map((key) => key.version)],
  );
  for (const row of rows) {
    const key = `${row.agent}@${row.version}`;
    const gates = byVersion.get(key) ?? new Map<Gate, Attestation>();
    gates.set(row.gate, toAttestation(row));
    byVersion.set(key, gates);
  }
  return byVersion;
}

/** An entry with what the rules derive from it at `now`: flags, the next review, what blocks activation. */
export function toEntry(row: EntryRow, gates: ReadonlyMap<Gate, Attestation>, now: Date): RegistryEntry {
  const riskTier = Number(row.risk_tier) as 1 | 2 | 3;
  const owner = { team: row.owner_team, person: row.owner_person };
  const review = reviewState(
    {
      riskTier,
      lastReviewAt: row.last_review_at,
      deployedAt: row.deployed_at,
      reviewRequestedAt: row.review_requested_at,
    },
    now,
  );
  const flags = new Set(row.flags);
  if (!owner.team || !owner.person) flags.add("orphan");
  if (review.overdue && (row.status === "active" || row.status === "paused")) flags.add("review_overdue");
  if (review.adHoc) flags.add("ad_hoc_review");
  return {
    agent: row.agent,
    version: row.version,
    specHash: row.spec_hash,
    description: row.description,
    owner,
    riskTier,
    scope: row.scope,
    status: row.status,
    registeredAt: row.registered_at,
    deployedAt: row.deployed_at,
    lastReviewAt: row.last_review_at,
    reviewRequestedAt: row.review_requested_at,
    reviewReason: row.review_reason,
    flags: [...flags].sort(),
    reviewDueAt: review.dueAt,
    blockers: row.status === "retired" ? [] : activationBlockers({ riskTier, owner, attestations: gates }),
  };
}

/** Record one line of history. */
export async function recordHistory(
  sql: SqlClient,
  entry: {
    agent: string;
    version: string | null;
    actor: string;
    action: string;
    details?: Record<string, unknown>;
  },
): Promise<void> {
  await sql.query(
    "INSERT INTO keel_registry_history (agent, version, actor, action, details) VALUES ($1, $2, $3, $4, $5::text::jsonb)",
    [entry.agent, entry.version, entry.actor, entry.action, JSON.stringify(entry.details ?? {})],
  );
}

type HistoryRow = {
  at: Date;
  agent: string;
  version: string | null;
  actor: string;
  action: string;
  details: Record<string, unknown>;
};

/** An agent's history, newest first. */
export async function readHistory(sql: SqlClient, agent: string, limit: number): Promise<HistoryEntry[]> {
  const { rows } = await sql.query<HistoryRow>(
    "SELECT at, agent, version, actor, action, details FROM keel_registry_history WHERE agent = $1 ORDER BY at DESC, id DESC LIMIT $2",
    [agent, limit],
  );
  return rows.map((row) => ({ ...row }));
}
