import type { Finding } from "./detect-entities.ts";
import { type EntityClass, type EntityType, isPlaceholder, placeholderFor } from "./entity-types.ts";
import { redactText } from "./redact-text.ts";
import { secretKeyType } from "./secret-key-names.ts";

/** How many values of each type were masked in a JSON value, and where (JSON Pointer paths). */
export type ValueFinding = { path: string; type: EntityType; class: EntityClass };

/** A JSON value with its sensitive strings masked; keys are kept, and the input is never modified. */
export type RedactedValue = { value: unknown; findings: ValueFinding[] };

/**
 * Walk a JSON value and mask what the given classes cover: every string is scanned; a value under a key named
 * like a credential (`password`, `apiKey`, `client_secret`, `Authorization`) is masked whole when `secrets` is
 * covered. Numbers are scanned as text too (a card number may arrive as a number) and replaced by the
 * placeholder string when they hold a finding.
 */
export function redactValue(value: unknown, classes: ReadonlySet<EntityClass>): RedactedValue {
  const findings: ValueFinding[] = [];
  const result = walk(value, "", null, classes, findings);
  return { value: findings.length === 0 ? value : result, findings };
}

function walk(
  value: unknown,
  path: string,
  keyType: EntityType | null,
  classes: ReadonlySet<EntityClass>,
  findings: ValueFinding[],
): unknown {
  if (typeof value === "string") {
    if (keyType !== null && value.length > 0 && !isPlaceholder(value)) {
      findings.push({ path, type: keyType, class: "secrets" });
      return placeholderFor(keyType);
    }
    return maskString(value, path, classes, findings);
  }
  if (typeof value === "number" && Number.isFinite(value)) {
    if (keyType !== null) {
      findings.push({ path, type: keyType, class: "secrets" });
      return placeholderFor(keyType);
    }
    // Only long integers can be identifiers (card, account or phone numbers written as JSON numbers).
    if (!Number.isInteger(value) || Math.abs(value) < 1e8) return value;
    const masked = maskString(String(value), path, classes, findings);
    return masked === String(value) ? value : masked;
  }
  if (Array.isArray(value)) {
    return value.map((item, index) => walk(item, `${path}/${index}`, keyType, classes, findings));
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).map(([key, item]) => {
      const type = classes.has("secrets") ? (secretKeyType(key) ?? keyType) : null;
      return [key, walk(item, `${path}/${escapePointer(key)}`, type, classes, findings)] as const;
    });
    return Object.fromEntries(entries);
  }
  return value;
}

function maskString(
  value: string,
  path: string,
  classes: ReadonlySet<EntityClass>,
  findings: ValueFinding[],
): string {
  const redacted = redactText(value, classes);
  for (const finding of redacted.findings) findings.push(toValueFinding(path, finding));
  return redacted.text;
}

function toValueFinding(path: string, finding: Finding): ValueFinding {
  return { path, type: finding.type, class: finding.class };
}

function escapePointer(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}
