import type { GovernanceStore, KillRecord, Revocation, StoredAgentKey } from "./governance-store.ts";

/**
 * The governance store in memory: for tests, benchmarks and single-process tools. Nothing outlives the process,
 * so production composition roots use the SQL store.
 */
export function createMemoryGovernanceStore(): GovernanceStore {
  const keys = new Map<string, StoredAgentKey>();
  const kills = new Map<string, KillRecord>();
  const revocations = new Map<string, Revocation>();
  const buckets = new Map<string, { tokens: number; updatedAt: number }>();
  const live = (agent: string, version: string) =>
    [...keys.values()].find((key) => key.agent === agent && key.version === version && !key.revoked) ?? null;
  return {
    async findLiveKey(agent, version) {
      return live(agent, version);
    },
    async findKey(kid) {
      return keys.get(kid) ?? null;
    },
    async insertKey(key) {
      const existing = live(key.agent, key.version);
      if (existing) return existing;
      keys.set(key.kid, key);
      return key;
    },
    async revokeKey(kid) {
      const key = keys.get(kid);
      if (key) keys.set(kid, { ...key, revoked: true });
    },
    async listKills() {
      return [...kills.values()];
    },
    async putKill(record) {
      kills.set(`${record.scope}:${record.target}`, record);
    },
    async removeKill(scope, target) {
      return kills.delete(`${scope}:${target}`);
    },
    async listRevocations() {
      return [...revocations.values()];
    },
    async putRevocation(revocation) {
      revocations.set(`${revocation.kind}:${revocation.value}`, revocation);
    },
    takeToken({ key, bucket, now }) {
      const state = buckets.get(key) ?? { tokens: bucket.capacity, updatedAt: now };
      const tokens = Math.min(
        bucket.capacity,
        state.tokens + Math.max(0, now - state.updatedAt) * bucket.refillPerMs,
      );
      const updatedAt = Math.max(state.updatedAt, now);
      if (tokens >= 1) {
        buckets.set(key, { tokens: tokens - 1, updatedAt });
        return Promise.resolve({ allowed: true, retryAfterMs: 0 });
      }
      buckets.set(key, { tokens, updatedAt });
      return Promise.resolve({ allowed: false, retryAfterMs: Math.ceil((1 - tokens) / bucket.refillPerMs) });
    },
  };
}
