/** A kill switch: everything (`all`, target `*`), one tenant, or one agent (by name, every version). */
export type KillScope = "all" | "tenant" | "agent";
export type KillRecord = {
  scope: KillScope;
  target: string;
  reason: string;
  killedBy: string;
  killedAt: string;
};

/** An agent version's service identity as stored: an Ed25519 key pair, the private half as PKCS#8 PEM. */
export type StoredAgentKey = {
  kid: string;
  agent: string;
  version: string;
  publicJwk: { kty: "OKP"; crv: "Ed25519"; x: string };
  privatePkcs8: string;
  revoked: boolean;
};

/** Revoked capability tokens (`token`, by jti) and runs whose every token is revoked (`run`). */
export type Revocation = { kind: "token" | "run"; value: string };

/** A token bucket: how many calls fit in it, and how fast it refills. */
export type TokenBucket = { capacity: number; refillPerMs: number };

/** Whether one call fits the bucket; when it does not, how long until one will. */
export type BucketAnswer = { allowed: boolean; retryAfterMs: number };

/**
 * Where the governor keeps what must outlive a process and be shared by every worker: identities, kill switches,
 * revocations and rate-limit buckets. SQL over the run store's database, or memory for tests and benchmarks.
 */
export interface GovernanceStore {
  findLiveKey(agent: string, version: string): Promise<StoredAgentKey | null>;
  findKey(kid: string): Promise<StoredAgentKey | null>;
  /** Insert a key unless the version already has a live one; returns the live key either way. */
  insertKey(key: StoredAgentKey): Promise<StoredAgentKey>;
  revokeKey(kid: string): Promise<void>;

  listKills(): Promise<KillRecord[]>;
  putKill(record: KillRecord): Promise<void>;
  removeKill(scope: KillScope, target: string): Promise<boolean>;

  listRevocations(): Promise<Revocation[]>;
  putRevocation(revocation: Revocation): Promise<void>;

  /** Take one token from the bucket at `key`, atomically across processes. */
  takeToken(options: { key: string; bucket: TokenBucket; now: number }): Promise<BucketAnswer>;
}
