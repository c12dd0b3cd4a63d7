import type { SqlClient } from "../store/index.ts";
import type {
  BucketAnswer,
  GovernanceStore,
  KillRecord,
  KillScope,
  Revocation,
  StoredAgentKey,
  TokenBucket,
} from "./governance-store.ts";

type KeyRow = {
  kid: string;
  agent: string;
  agent_version: string;
  public_jwk: StoredAgentKey["publicJwk"];
  private_pkcs8: string;
  revoked_at: unknown;
};

const KEY_COLUMNS = "kid, agent, agent_version, public_jwk, private_pkcs8, revoked_at";

function toKey(row: KeyRow): StoredAgentKey {
  return {
    kid: row.kid,
    agent: row.agent,
    version: row.agent_version,
    publicJwk: typeof row.public_jwk === "string" ? JSON.parse(row.public_jwk) : row.public_jwk,
    privatePkcs8: row.private_pkcs8,
    revoked: row.revoked_at !== null,
  };
}

/** The governance store on the run store's database (PGlite or PostgreSQL), tables from migration 0003. */
export function createSqlGovernanceStore(sql: SqlClient): GovernanceStore {
  return {
    async findLiveKey(agent, version) {
      const { rows } = await sql.query<KeyRow>(
        `SELECT ${KEY_COLUMNS} FROM keel_agent_keys WHERE agent = $1 AND agent_version = $2 AND revoked_at IS NULL`,
        [agent, version],
      );
      return rows[0] ? toKey(rows[0]) : null;
    },
    async findKey(kid) {
      const { rows } = await sql.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM keel_agent_keys WHERE kid = $1`, [
        kid,
      ]);
      return rows[0] ? toKey(rows[0]) : null;
    },
    async insertKey(key) {
      await sql.query(
        `INSERT INTO keel_agent_keys (kid, agent, agent_version, public_jwk, private_pkcs8)
         VALUES ($1, $2, $3, $4::jsonb, $5)
         ON CONFLICT DO NOTHING`,
        [key.kid, key.agent, key.version, JSON.stringify(key.publicJwk), key.privatePkcs8],
      );
      const live = await this.findLiveKey(key.agent, key.version);
      if (!live) throw new Error(`no live key for ${key.agent}@${key.version} after inserting one`);
      return live;
    },
    async revokeKey(kid) {
      await sql.query(
        "UPDATE keel_agent_keys SET revoked_at = clock_timestamp() WHERE kid = $1 AND revoked_at IS NULL",
        [kid],
      );
    },

    async listKills() {
      const { rows } = await sql.query<{
        scope: KillScope;
        target: string;
        reason: string;
        killed_by: string;
        killed_at: string;
      }>(
        `SELECT scope, target, reason, killed_by,
                to_char(killed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS killed_at
           FROM keel_kill_switches ORDER BY killed_at, scope, target`,
      );
      return rows.map((row) => ({
        scope: row.scope,
        target: row.target,
        reason: row.reason,
        killedBy: row.killed_by,
        killedAt: row.killed_at,
      }));
    },
    async putKill(record: KillRecord) {
      await sql.query(
        `INSERT INTO keel_kill_switches (scope, target, reason, killed_by, killed_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (scope, target) DO UPDATE SET reason = excluded.reason, killed_by = excluded.killed_by`,
        [record.scope, record.target, record.reason, record.killedBy, record.killedAt],
      );
    },
    async removeKill(scope, target) {
      const { rows } = await sql.query(
        "DELETE FROM keel_kill_switches WHERE scope = $1 AND target = $2 RETURNING scope",
        [scope, target],
      );
      return rows.length > 0;
    },

    async listRevocations() {
      const { rows } = await sql.query<Revocation>("SELECT kind, value FROM keel_capability_revocations");
      return rows;
    },
    async putRevocation(revocation) {
      await sql.query(
        "INSERT INTO keel_capability_revocations (kind, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        [revocation.kind, revocation.value],
      );
    },

    async takeToken({
      key,
      bucket,
      now,
    }: {
      key: string;
      bucket: TokenBucket;
      now: number;
    }): Promise<BucketAnswer> {
      // One statement: the row lock of ON CONFLICT makes refill-then-take atomic across processes.
      const { rows } = await sql.query<{ tokens: number }>(
        `INSERT INTO keel_rate_buckets AS b (key, tokens, updated_at_ms) VALUES ($1, $2::float8 - 1, $3)
         ON CONFLICT (key) DO UPDATE SET
           tokens = LEAST($2::float8, b.tokens + GREATEST(0, $3 - b.updated_at_ms) * $4::float8) - 1,
           updated_at_ms = GREATEST(b.updated_at_ms, $3)
         WHERE LEAST($2::float8, b.tokens + GREATEST(0, $3 - b.updated_at_ms) * $4::float8) >= 1
         RETURNING tokens`,
        [key, bucket.capacity, now, bucket.refillPerMs],
        { prepared: "keel_take_rate_token" },
      );
      if (rows.length > 0) return { allowed: true, retryAfterMs: 0 };
      const current = await sql.query<{ tokens: number; updated_at_ms: string | number }>(
        "SELECT tokens, updated_at_ms FROM keel_rate_buckets WHERE key = $1",
        [key],
      );
      const row = current.rows[0];
      const tokens = row
        ? Math.min(
            bucket.capacity,
            row.tokens + Math.max(0, now - Number(row.updated_at_ms)) * bucket.refillPerMs,
          )
        : 0;
      return { allowed: false, retryAfterMs: Math.ceil((1 - tokens) / bucket.refillPerMs) };
    },
  };
}
