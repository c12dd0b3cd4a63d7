import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** What a new key is made of: its public id, the whole secret token shown once, and the hash that is stored. */
export type NewApiKeySecret = { keyId: string; token: string; secretHash: string };

const TOKEN = /^keel_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/**
 * A new key: 8 random bytes of id and 32 random bytes of secret, written `keel_<id>_<secret>` so a leaked key is
 * recognisable (secret scanners) and the id finds its row without revealing anything.
 */
export function createApiKeySecret(): NewApiKeySecret {
  const keyId = randomBytes(8).toString("hex");
  const token = `keel_${keyId}_${randomBytes(32).toString("base64url")}`;
  return { keyId, token, secretHash: hashApiKeyToken(token) };
}

/** The key id of a token in Keel's format, or null when the text is not one. */
export function apiKeyIdOf(token: string): string | null {
  return TOKEN.exec(token)?.[1] ?? null;
}

/** SHA-256 of the whole token, hex: enough for 256 bits of randomness, where a slow password hash would only cost. */
export function hashApiKeyToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** Compare a presented token with a stored hash in constant time. */
export function tokenMatchesHash(token: string, secretHash: string): boolean {
  const presented = Buffer.from(hashApiKeyToken(token), "hex");
  const stored = Buffer.from(secretHash, "hex");
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}
