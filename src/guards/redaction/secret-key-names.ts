import type { EntityType } from "./entity-types.ts";

/** The words a key name is made of: `apiKey`, `API_KEY`, `api-key` and `x-api-key` all give `api key`. */
function wordsOf(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

const PASSWORD_WORDS = new Set(["password", "passwd", "passphrase", "pwd", "passwort", "passcode"]);
const SECRET_WORDS = new Set(["secret", "credential", "credentials", "apikey", "authorization", "cookie"]);
/** Keys that end in "key" or "token" but are not credentials: pagination cursors, idempotency and sort keys. */
const HARMLESS_BEFORE = new Set([
  "page",
  "next",
  "continuation",
  "sync",
  "idempotency",
  "sort",
  "partition",
  "primary",
  "foreign",
  "public",
  "csrf",
  "cache",
  "lookup",
  "dedupe",
]);
const KEY_QUALIFIERS = new Set([
  "api",
  "access",
  "secret",
  "private",
  "signing",
  "encryption",
  "master",
  "account",
  "shared",
  "client",
  "license",
  "service",
]);

/**
 * The type a JSON key names when its whole value is a credential — `password`, `client_secret`, `apiKey`,
 * `Authorization`, `x-api-key`, `refresh_token` — or null. Such values are masked whatever they look like.
 */
export function secretKeyType(name: string): EntityType | null {
  let type = KEY_TYPES.get(name);
  if (type === undefined) {
    type = keyTypeOf(name);
    // Payloads use a small vocabulary of keys again and again; a flood of distinct ones only restarts the cache.
    if (KEY_TYPES.size >= MAX_CACHED_KEYS) KEY_TYPES.clear();
    KEY_TYPES.set(name, type);
  }
  return type;
}

/** Key names already classified: splitting a name into words costs more than the rest of masking its value. */
const KEY_TYPES = new Map<string, EntityType | null>();
const MAX_CACHED_KEYS = 4_096;

function keyTypeOf(name: string): EntityType | null {
  const words = wordsOf(name);
  const last = words.at(-1);
  if (last === undefined) return null;
  const before = words.at(-2);
  if (PASSWORD_WORDS.has(last) || (last === "pass" && words.length === 1)) return "password";
  if (SECRET_WORDS.has(last)) return "credential";
  if (last === "token" || last === "jwt")
    return before !== undefined && HARMLESS_BEFORE.has(before) ? null : "credential";
  if (last === "key" && before !== undefined && KEY_QUALIFIERS.has(before)) return "credential";
  if (last === "pem" || (last === "key" && before === "pem")) return "private_key";
  return null;
}
