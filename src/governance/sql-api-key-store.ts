import { KeelError } from "../errors/index.ts";
import type { SqlClient } from "../store/index.ts";
import { apiKeyIdOf, createApiKeySecret, hashApiKeyToken } from "./api-key-secret.ts";
import { validateKeyRoles, validateTenant } from "./control-plane-roles.ts";

/** An API key as stored: everything but the secret, which only its creator ever saw. */
export type ApiKeyRecord = {
  keyId: string;
  tenant: string;
  roles: string[];
  name: string;
  createdAt: Date;
  createdBy: string;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
};

/** A stored key with its hash, for verification only; never returned by the API. */
export type ApiKeyWithHash = ApiKeyRecord & { secretHash: string };

/** The control plane's API keys in `keel_api_keys`: create (secret returned once), list, find, revoke, touch. */
export type ApiKeyStore = {
  create(options: {
    tenant: string;
    roles: readonly string[];
    name?: string;
    createdBy: string;
    /** A token made elsewhere in Keel's format (a bootstrap key file); absent, a new random one. */
    token?: string;
  }): Promise<{ key: ApiKeyRecord; token: string }>;
  /** Keys newest first; with `tenant`, only that tenant's. */
  list(options?: { tenant?: string; includeRevoked?: boolean }): Promise<ApiKeyRecord[]>;
  find(keyId: string): Promise<ApiKeyWithHash | null>;
  /** Revoke a live key (of `tenant`, when given); null when there is no such live key. */
  revoke(keyId: string, options?: { tenant?: string }): Promise<ApiKeyRecord | null>;
  /** Record that a key was used now. */
  touch(keyId: string): Promise<void>;
  /** How many keys are not revoked: none means the server may only run in development mode. */
  countLive(): Promise<number>;
};

type KeyRow = {
  key_id: string;
  secret_hash: string;
  tenant: string;
  roles: string[];
  name: string;
  created_at: Date;
  created_by: string;
  last_used_at: Date | null;
  revoked_at: Date | null;
};

const COLUMNS = "key_id, secret_hash, tenant, roles, name, created_at, created_by, last_used_at, revoked_at";
const NAME = /^[\p{L}\p{N} ._@+:-]{1,100}$/u;

/** API keys over SQL (PGlite or PostgreSQL, same statements). */
export function createSqlApiKeyStore(sql: SqlClient): ApiKeyStore {
  return {
    async create(options) {
      const tenant = validateTenant(options.tenant);
      const roles = validateKeyRoles(options.roles);
      const secret = options.token === undefined ? createApiKeySecret() : existingSecret(options.token);
      const name = options.name?.trim() || `key-${secret.keyId}`;
      if (!NAME.test(name)) {
        throw new KeelError("invalid_request", "name: expected 1 to 100 letters, digits, spaces or ._@+:-", {
          issues: [{ path: "name", message: "expected 1 to 100 letters, digits, spaces or ._@+:-" }],
        });
      }
      const { rows } = await sql.query<KeyRow>(
        `INSERT INTO keel_api_keys (key_id, secret_hash, tenant, roles, name, created_by)
         VALUES ($1, $2, $3, $4::text[], $5, $6) RETURNING ${COLUMNS}`,
        [secret.keyId, secret.secretHash, tenant, roles, name, options.createdBy],
      );
      return { key: toRecord(rows[0]!), token: secret.token };
    },
    async list(options = {}) {
      const { rows } = await sql.query<KeyRow>(
        `SELECT ${COLUMNS} FROM keel_api_keys
          WHERE ($1::text IS NULL OR tenant = $1::text) AND ($2::boolean OR revoked_at IS NULL)
          ORDER BY created_at DESC, key_id`,
        [options.tenant ?? null, options.includeRevoked ?? false],
      );
      return rows.map(toRecord);
    },
    async find(keyId) {
      const { rows } = await sql.query<KeyRow>(
        `SELECT ${COLUMNS} FROM keel_api_keys WHERE key_id = $1`,
        [keyId],
        { prepared: "keel_find_api_key" },
      );
      return rows[0] ? { ...toRecord(rows[0]), secretHash: rows[0].secret_hash } : null;
    },
    async revoke(keyId, options = {}) {
      const { rows } = await sql.query<KeyRow>(
        `UPDATE keel_api_keys SET revoked_at = clock_timestamp()
          WHERE key_id = $1 AND revoked_at IS NULL AND ($2::text IS NULL OR tenant = $2::text)
          RETURNING ${COLUMNS}`,
        [keyId, options.tenant ?? null],
      );
      return rows[0] ? toRecord(rows[0]) : null;
    },
    async touch(keyId) {
      await sql.query("UPDATE keel_api_keys SET last_used_at = clock_timestamp() WHERE key_id = $1", [keyId]);
    },
    async countLive() {
      const { rows } = await sql.query<{ count: number | string }>(
        "SELECT count(*) AS count FROM keel_api_keys WHERE revoked_at IS NULL",
      );
      return Number(rows[0]?.count ?? 0);
    },
  };
}

function existingSecret(token: string) {
  const keyId = apiKeyIdOf(token);
  if (keyId === null) {
    throw new KeelError("invalid_request", "the key is not in Keel's format keel_<16 hex>_<43 base64url>", {
      issues: [{ path: "token", message: "expected keel_<16 hex digits>_<43 base64url characters>" }],
    });
  }
  return { keyId, token, secretHash: hashApiKeyToken(token) };
}

function toRecord(row: KeyRow): ApiKeyRecord {
  return {
    keyId: row.key_id,
    tenant: row.tenant,
    roles: [...row.roles],
    name: row.name,
    createdAt: row.created_at,
    createdBy: row.created_by,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}
