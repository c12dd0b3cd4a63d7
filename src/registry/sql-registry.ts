import { KeelError } from "../errors/index.ts";
import type { SqlClient } from "../store/index.ts";
import {
  type AgentStatus,
  canMove,
  checkGateDetails,
  GATES,
  type Gate,
  requiredGates,
} from "./lifecycle-rules.ts";
import {
  type Attestation,
  type HistoryEntry,
  type RegisterAgentVersion,
  type RegistryEntry,
  scopeChanged,
} from "./registry-entry.ts";
import {
  ENTRY_COLUMNS,
  type EntryRow,
  latestAttestations,
  readHistory,
  recordHistory,
  toAttestation,
  toEntry,
} from "./registry-rows.ts";

/** The agent registry: versions, owners, gates, lifecycle and reviews, kept in the store's database. */
export type Registry = {
  /** Record a loaded version (a new one starts as draft); a version whose scope differs from the one before asks for a review. */
  register(version: RegisterAgentVersion): Promise<RegistryEntry>;
  list(options?: { status?: AgentStatus }): Promise<RegistryEntry[]>;
  /** A version, or the agent's newest one. */
  get(agent: string, version?: string): Promise<RegistryEntry | null>;
  versions(agent: string): Promise<RegistryEntry[]>;
  /** Every attestation of a version, newest first. */
  attestations(agent: string, version: string): Promise<Attestation[]>;
  history(agent: string, limit?: number): Promise<HistoryEntry[]>;
  attest(options: {
    agent: string;
    version: string;
    gate: string;
    by: string;
    evidence: string;
    details?: Record<string, unknown>;
  }): Promise<Attestation>;
  /** Move a version through its lifecycle; becoming active needs an owner and every gate of its tier. */
  setStatus(options: {
    agent: string;
    version: string;
    status: AgentStatus;
    by: string;
    reason?: string;
  }): Promise<RegistryEntry>;
  recordReview(options: {
    agent: string;
    version: string;
    by: string;
    evidence: string;
  }): Promise<RegistryEntry>;
  /** An incident asks for an ad-hoc review of every live version of the agent. */
  reportIncident(options: { agent: string; by: string; description: string }): Promise<RegistryEntry[]>;
  setOwner(options: {
    agent: string;
    version: string;
    team: string | null;
    person: string | null;
    by: string;
  }): Promise<RegistryEntry>;
  /** Pause and flag active versions without an owner (or whose owner `isOwner` no longer recognises). */
  sweepOrphans(options?: { isOwner?: (person: string) => boolean }): Promise<RegistryEntry[]>;
  /** Whether a version may serve runs when the registry is enforced: active and owned. */
  runnable(agent: string, version: string): Promise<{ ok: true } | { ok: false; reason: string }>;
};

/** The registry over a SqlClient (the store's database). */
export function createSqlRegistry(sql: SqlClient, options: { now?: () => Date } = {}): Registry {
  const now = options.now ?? (() => new Date());

  async function entries(where: string, params: unknown[]): Promise<RegistryEntry[]> {
    const { rows } = await sql.query<EntryRow>(
      `SELECT ${ENTRY_COLUMNS} FROM keel_registry_agents ${where} ORDER BY agent, registered_at, version`,
      params,
    );
    const gates = await latestAttestations(sql, rows);
    const at = now();
    return rows.map((row) => toEntry(row, gates.get(`${row.agent}@${row.version}`) ?? new Map(), at));
  }

  async function required(agent: string, version: string): Promise<RegistryEntry> {
    const [entry] = await entries("WHERE agent = $1 AND version = $2", [agent, version]);
    if (!entry) throw new KeelError("not_found", `the registry has no ${agent}@${version}`);
    return entry;
  }

  async function setFields(
    agent: string,
    version: string,
    assignments: string,
    params: unknown[],
  ): Promise<void> {
    await sql.query(`UPDATE keel_registry_agents SET ${assignments} WHERE agent = $1 AND version = $2`, [
      agent,
      version,
      ...params,
    ]);
  }

  const registry: Registry = {
    async register(version) {
      const inserted = await sql.query(
        `INSERT INTO keel_registry_agents (agent, version, spec_hash, description, owner_team, owner_person, risk_tier, scope, status, registered_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb, 'draft', $9::timestamptz)
         ON CONFLICT (agent, version) DO NOTHING RETURNING agent`,
        [
          version.agent,
          version.version,
          version.specHash,
          version.description,
          version.owner.team,
          version.owner.person,
          version.riskTier,
          JSON.stringify(version.scope),
          now().toISOString(),
        ],
      );
      if (inserted.rows.length > 0) {
        await recordHistory(sql, {
          agent: version.agent,
          version: version.version,
          actor: "system:registry",
          action: "registered",
          details: { riskTier: version.riskTier },
        });
        const previous = (await registry.versions(version.agent))
          .filter((each) => each.version !== version.version)
          .at(-1);
        if (previous && scopeChanged(previous.scope, version.scope)) {
          const reason = `scope changed from ${previous.version}`;
          await setFields(
            version.agent,
            version.version,
            "flags = array_append(flags, 'scope_change'), review_requested_at = $3::timestamptz, review_reason = $4",
            [now().toISOString(), reason],
          );
          await recordHistory(sql, {
            agent: version.agent,
            version: version.version,
            actor: "system:registry",
            action: "review_requested",
            details: { reason },
          });
        }
      }
      return await required(version.agent, version.version);
    },
    list: async (filter = {}) =>
      await entries(filter.status ? "WHERE status = $1" : "", filter.status ? [filter.status] : []),
    async get(agent, version) {
      const found = version
        ? await entries("WHERE agent = $1 AND version = $2", [agent, version])
        : await entries("WHERE agent = $1", [agent]);
      return found.at(-1) ?? null;
    },
    versions: async (agent) => await entries("WHERE agent = $1", [agent]),
    async attestations(agent, version) {
      const { rows } = await sql.query<Parameters<typeof toAttestation>[0]>(
        `SELECT id, agent, version, gate, attested_by, attested_at, evidence, details FROM keel_registry_attestations
          WHERE agent = $1 AND version = $2 ORDER BY attested_at DESC, id DESC`,
        [agent, version],
      );
      return rows.map(toAttestation);
    },
    history: async (agent, limit = 100) => await readHistory(sql, agent, limit),
    async attest(attestation) {
      const entry = await required(attestation.agent, attestation.version);
      if (!GATES.includes(attestation.gate as Gate)) {
        throw new KeelError(
          "invalid_request",
          `unknown gate "${attestation.gate}"; the gates are ${GATES.join(", ")}`,
        );
      }
      const gate = attestation.gate as Gate;
      if (!requiredGates(entry.riskTier).includes(gate)) {
        throw new KeelError("invalid_request", `a tier-${entry.riskTier} agent has no ${gate} gate`);
      }
      if (!attestation.evidence.trim())
        throw new KeelError("invalid_request", "an attestation needs an evidence link");
      const details = attestation.details ?? {};
      const problem = checkGateDetails(gate, details);
      if (problem) throw new KeelError("invalid_request", `${gate}: ${problem}`);
      const { rows } = await sql.query<Parameters<typeof toAttestation>[0]>(
        `INSERT INTO keel_registry_attestations (agent, version, gate, attested_by, attested_at, evidence, details)
         VALUES ($1, $2, $3, $4, $5::timestamptz, $6, $7::text::jsonb)
         RETURNING id, agent, version, gate, attested_by, attested_at, evidence, details`,
        [
          attestation.agent,
          attestation.version,
          gate,
          attestation.by,
          now().toISOString(),
          attestation.evidence,
          JSON.stringify(details),
        ],
      );
      await recordHistory(sql, {
        agent: attestation.agent,
        version: attestation.version,
        actor: attestation.by,
        action: "attested",
        details: { gate, evidence: attestation.evidence },
      });
      return toAttestation(rows[0]!);
    },
    async setStatus(change) {
      const entry = await required(change.agent, change.version);
      if (entry.status === change.status) return entry;
      if (!canMove(entry.status, change.status)) {
        throw new KeelError(
          "conflict",
          `${change.agent}@${change.version} cannot go from ${entry.status} to ${change.status}`,
        );
      }
      if (change.status === "active" && entry.blockers.length > 0) {
        throw new KeelError(
          "conflict",
          `${change.agent}@${change.version} cannot become active: ${entry.blockers.join("; ")}`,
        );
      }
      const at = now().toISOString();
      await setFields(
        change.agent,
        change.version,
        `status = $3, deployed_at = CASE WHEN $3 = 'active' THEN COALESCE(deployed_at, $4::timestamptz) ELSE deployed_at END,
         flags = CASE WHEN $3 = 'active' THEN array_remove(flags, 'orphan') ELSE flags END`,
        [change.status, at],
      );
      await recordHistory(sql, {
        agent: change.agent,
        version: change.version,
        actor: change.by,
        action: "status",
        details: {
          from: entry.status,
          to: change.status,
          ...(change.reason ? { reason: change.reason } : {}),
        },
      });
      return await required(change.agent, change.version);
    },
    async recordReview(review) {
      await required(review.agent, review.version);
      if (!review.evidence.trim()) throw new KeelError("invalid_request", "a review needs an evidence link");
      await setFields(
        review.agent,
        review.version,
        "last_review_at = $3::timestamptz, review_requested_at = NULL, review_reason = NULL, flags = array_remove(flags, 'scope_change')",
        [now().toISOString()],
      );
      await recordHistory(sql, {
        agent: review.agent,
        version: review.version,
        actor: review.by,
        action: "reviewed",
        details: { evidence: review.evidence },
      });
      return await required(review.agent, review.version);
    },
    async reportIncident(incident) {
      const live = (await registry.versions(incident.agent)).filter((entry) => entry.status !== "retired");
      if (live.length === 0)
        throw new KeelError("not_found", `the registry has no live version of ${incident.agent}`);
      for (const entry of live) {
        await setFields(
          entry.agent,
          entry.version,
          "review_requested_at = COALESCE(review_requested_at, $3::timestamptz), review_reason = $4",
          [now().toISOString(), `incident: ${incident.description}`],
        );
      }
      await recordHistory(sql, {
        agent: incident.agent,
        version: null,
        actor: incident.by,
        action: "incident",
        details: { description: incident.description },
      });
      return await registry.versions(incident.agent);
    },
    async setOwner(change) {
      const entry = await required(change.agent, change.version);
      await setFields(change.agent, change.version, "owner_team = $3, owner_person = $4", [
        change.team,
        change.person,
      ]);
      await recordHistory(sql, {
        agent: change.agent,
        version: change.version,
        actor: change.by,
        action: "owner",
        details: { from: entry.owner, to: { team: change.team, person: change.person } },
      });
      if (!change.team || !change.person) await registry.sweepOrphans();
      return await required(change.agent, change.version);
    },
    async sweepOrphans(sweep = {}) {
      const paused: RegistryEntry[] = [];
      for (const entry of await registry.list({ status: "active" })) {
        const owned = entry.owner.team && entry.owner.person && (sweep.isOwner?.(entry.owner.person) ?? true);
        if (owned) continue;
        await setFields(
          entry.agent,
          entry.version,
          "status = 'paused', flags = array_append(array_remove(flags, 'orphan'), 'orphan')",
          [],
        );
        await recordHistory(sql, {
          agent: entry.agent,
          version: entry.version,
          actor: "system:registry",
          action: "status",
          details: { from: "active", to: "paused", reason: "orphan: no owner" },
        });
        paused.push(await required(entry.agent, entry.version));
      }
      return paused;
    },
    async runnable(agent, version) {
      const entry = await registry.get(agent, version);
      if (!entry) return { ok: false, reason: `${agent}@${version} is not in the registry` };
      if (entry.status !== "active")
        return { ok: false, reason: `${agent}@${version} is ${entry.status}, not active` };
      return { ok: true };
    },
  };
  return registry;
}
