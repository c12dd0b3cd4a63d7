import type { Finding } from "./detect-entities.ts";
import { type EntityClass, type EntityType, isPlaceholder, placeholderFor } from "./entity-types.ts";
import { writtenLikeName } from "./person-name-detector.ts";
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
 * placeholder string when they hold a finding. A string is scanned alone, so a name is tied to contact details by
 * the object instead: under a name key (`name`, `fullName`, `last_name`, `contact_name` …) in an object that also
 * holds an email address or phone number, a value written like a name is masked as `person` when `pii` is covered.
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
    const found = findings.length;
    const entries = Object.entries(value as Record<string, unknown>).map(([key, item]): [string, unknown] => {
      const type = classes.has("secrets") ? (secretKeyType(key) ?? keyType) : null;
      return [key, walk(item, `${path}/${escapePointer(key)}`, type, classes, findings)];
    });
    if (classes.has("pii") && findings.length > found)
      maskNamesBesideContacts(entries, path, findings, found);
    return Object.fromEntries(entries);
  }
  return value;
}

const NAME_KEY =
  /^(?:(?:contact|customer|client|recipient|sender|person|full|first|last|given|family|display|account|holder|patient|guest|passenger|employee|owner|user)[_-]?)?(?:name|surname|lastname|firstname|givenname)$/i;

/**
 * Mask name-keyed values written like a name, in an object whose own values were found to hold an email or a
 * phone number (the findings the walk added from `from` on, at this object's keys).
 */
function maskNamesBesideContacts(
  entries: [string, unknown][],
  path: string,
  findings: ValueFinding[],
  from: number,
): void {
  const contact = findings
    .slice(from)
    .some(
      (finding) =>
        (finding.type === "email" || finding.type === "phone") &&
        entries.some(([key]) => finding.path === `${path}/${escapePointer(key)}`),
    );
  if (!contact) return;
  for (const entry of entries) {
    const [key, item] = entry;
    if (!NAME_KEY.test(key) || typeof item !== "string" || !writtenLikeName(item)) continue;
    entry[1] = placeholderFor("person");
    findings.push({ path: `${path}/${escapePointer(key)}`, type: "person", class: "pii" });
  }
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
