import { apiKeyIdOf, tokenMatchesHash } from "./api-key-secret.ts";
import type { ApiKeyStore, ApiKeyWithHash } from "./sql-api-key-store.ts";

/** Who a verified key speaks for. */
export type VerifiedApiKey = { keyId: string; tenant: string; roles: string[]; name: string };

/** Checks presented tokens against the key store, remembering answers briefly so a request costs no query. */
export type ApiKeyVerifier = {
  verify(token: string): Promise<VerifiedApiKey | null>;
  /** Forget a key at once in this process (after revoking it here). */
  forget(keyId: string): void;
};

/**
 * A verifier with a short in-memory cache per key id: a key's row is read at most once per `cacheMs`
 * (so a revocation elsewhere takes effect within that long), and `last_used_at` is written on each read.
 * Unknown ids are remembered too, so a flood of made-up keys does not reach the database; the cache is bounded.
 */
export function createApiKeyVerifier(options: {
  store: Pick<ApiKeyStore, "find" | "touch">;
  cacheMs?: number;
  maxEntries?: number;
  now?: () => number;
}): ApiKeyVerifier {
  const cacheMs = options.cacheMs ?? 10_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? (() => performance.now());
  const cache = new Map<string, { key: ApiKeyWithHash | null; readAt: number }>();

  const load = async (keyId: string): Promise<ApiKeyWithHash | null> => {
    const cached = cache.get(keyId);
    if (cached && now() - cached.readAt < cacheMs) return cached.key;
    const key = await options.store.find(keyId);
    if (key && key.revokedAt === null) await options.store.touch(keyId);
    if (cache.size >= maxEntries) cache.clear();
    cache.set(keyId, { key, readAt: now() });
    return key;
  };

  return {
    async verify(token) {
      const keyId = apiKeyIdOf(token);
      if (keyId === null) return null;
      const key = await load(keyId);
      if (!key || key.revokedAt !== null || !tokenMatchesHash(token, key.secretHash)) return null;
      return { keyId: key.keyId, tenant: key.tenant, roles: key.roles, name: key.name };
    },
    forget(keyId) {
      cache.delete(keyId);
    },
  };
}
