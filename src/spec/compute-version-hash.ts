import { createHash } from "node:crypto";
import canonicalize from "canonicalize";

/**
 * What a version is made of: the spec as written (parsed YAML), the prompt text, the rules table, if any, and the
 * team's Cedar policy files, if any (by path relative to the spec).
 */
export type VersionContent = {
  spec: unknown;
  prompt: string;
  rules: unknown;
  policies?: readonly { path: string; text: string }[];
  /** An output schema kept in a file of its own (an inline one is part of the spec). */
  outputSchema?: unknown;
};

/**
 * `sha256:` + hex SHA-256 of the RFC 8785 canonical JSON of the version's content. Hashing parsed data rather
 * than file bytes keeps it stable under key order, comments and whitespace, while any change of meaning (the
 * spec, the prompt text or the rules) yields a new hash.
 */
export function computeVersionHash(content: VersionContent): string {
  const canonical = canonicalize({
    spec: content.spec,
    prompt: content.prompt,
    rules: content.rules ?? null,
    // Only present when there are policy files, so versions without any keep the hash they always had.
    ...(content.policies && content.policies.length > 0
      ? { policies: content.policies.map(({ path, text }) => ({ path, text })) }
      : {}),
    // Likewise only present when the schema has a file of its own.
    ...(content.outputSchema === undefined ? {} : { outputSchema: content.outputSchema }),
  });
  return `sha256:${createHash("sha256")
    .update(canonical ?? "null")
    .digest("hex")}`;
}
