/** Argument names whose values a reviewer never needs to see in clear. */
const SECRET_NAME =
  /pass(word|phrase)?|secret|token|api[-_]?key|authori[sz]ation|credential|private[-_]?key|card[-_]?number|cvv|ssn|iban/i;
/** Values that look like credentials whatever their name: bearer tokens, JWTs, long key-like strings. */
const SECRET_VALUE =
  /^(bearer\s+\S+|eyJ[\w-]+\.[\w-]+\.[\w-]+|(sk|pk|rk)[-_][\w-]{16,}|[A-Za-z0-9+/=_-]{40,})$/i;

/**
 * The view of a call's arguments a reviewer sees: values named or shaped like secrets are masked, everything
 * else is shown as is. The approval still binds to the hash of the real arguments. (A stand-in until the guards
 * capability's redaction covers PII as well.)
 */
export function redactArguments(value: unknown, name = ""): unknown {
  if (name !== "" && SECRET_NAME.test(name)) return "[redacted]";
  if (typeof value === "string") return SECRET_VALUE.test(value.trim()) ? "[redacted]" : value;
  if (Array.isArray(value)) return value.map((item) => redactArguments(item, name));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([key, item]) => [
        key,
        redactArguments(item, key),
      ]),
    );
  }
  return value;
}
