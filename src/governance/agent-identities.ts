import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";
import type { GovernanceStore, StoredAgentKey } from "./governance-store.ts";

/** An agent version's service identity in memory: its key id and Ed25519 keys. */
export type AgentIdentity = {
  kid: string;
  agent: string;
  version: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
};

/**
 * Each agent version has its own Ed25519 key pair, kept in the store (never an API key shared between agents).
 * The first process to load a version creates it; every other process finds the same one.
 */
export class AgentIdentities {
  private readonly store: GovernanceStore;
  private readonly byVersion = new Map<string, AgentIdentity>();
  private readonly publicKeys = new Map<string, { key: KeyObject; agent: string; revoked: boolean }>();

  constructor(options: { store: GovernanceStore }) {
    this.store = options.store;
  }

  /** Load the version's key pair from the store, creating it when there is none. */
  async ensure(agent: string, version: string): Promise<AgentIdentity> {
    const cached = this.byVersion.get(`${agent}@${version}`);
    if (cached) return cached;
    const stored =
      (await this.store.findLiveKey(agent, version)) ?? (await this.store.insertKey(newKey(agent, version)));
    const identity = toIdentity(stored);
    this.byVersion.set(`${agent}@${version}`, identity);
    this.publicKeys.set(identity.kid, { key: identity.publicKey, agent, revoked: false });
    return identity;
  }

  /** The identity of a loaded version, or null. Synchronous: memory only. */
  get(agent: string, version: string): AgentIdentity | null {
    return this.byVersion.get(`${agent}@${version}`) ?? null;
  }

  /** The public key for a key id, from memory or the store; null when unknown or revoked. */
  async publicKey(kid: string): Promise<KeyObject | null> {
    const cached = this.publicKeys.get(kid);
    if (cached) return cached.revoked ? null : cached.key;
    const stored = await this.store.findKey(kid);
    if (!stored) return null;
    const key = createPublicKey({ key: stored.publicJwk, format: "jwk" });
    this.publicKeys.set(kid, { key, agent: stored.agent, revoked: stored.revoked });
    return stored.revoked ? null : key;
  }

  /** Revoke a version's key: its tokens stop verifying at once here; a new key is made on the next `ensure`. */
  async revoke(agent: string, version: string): Promise<void> {
    const identity = this.byVersion.get(`${agent}@${version}`) ?? null;
    const stored = identity ? null : await this.store.findLiveKey(agent, version);
    const kid = identity?.kid ?? stored?.kid;
    if (!kid) return;
    const cached = this.publicKeys.get(kid);
    if (cached) cached.revoked = true;
    this.byVersion.delete(`${agent}@${version}`);
    await this.store.revokeKey(kid);
  }
}

function newKey(agent: string, version: string): StoredAgentKey {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const jwk = publicKey.export({ format: "jwk" }) as { x: string };
  const thumbprint = createHash("sha256")
    .update(JSON.stringify({ crv: "Ed25519", kty: "OKP", x: jwk.x }))
    .digest("base64url")
    .slice(0, 16);
  return {
    kid: `${agent}@${version}#${thumbprint}`,
    agent,
    version,
    publicJwk: { kty: "OKP", crv: "Ed25519", x: jwk.x },
    privatePkcs8: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    revoked: false,
  };
}

function toIdentity(stored: StoredAgentKey): AgentIdentity {
  return {
    kid: stored.kid,
    agent: stored.agent,
    version: stored.version,
    privateKey: createPrivateKey(stored.privatePkcs8),
    publicKey: createPublicKey({ key: stored.publicJwk, format: "jwk" }),
  };
}
