import { detectEntities, type Finding } from "./detect-entities.ts";
import { type EntityClass, placeholderFor } from "./entity-types.ts";

/** A text with its sensitive values replaced, and what was found (spans refer to the original text). */
export type RedactedText = { text: string; findings: Finding[] };

/** Replace every value of the given classes with its typed placeholder, such as `[REDACTED:email]`. */
export function redactText(text: string, classes: ReadonlySet<EntityClass>): RedactedText {
  const findings = detectEntities(text, classes);
  if (findings.length === 0) return { text, findings };
  let result = "";
  let cursor = 0;
  for (const finding of findings) {
    result += text.slice(cursor, finding.start) + placeholderFor(finding.type);
    cursor = finding.end;
  }
  return { text: result + text.slice(cursor), findings };
}
