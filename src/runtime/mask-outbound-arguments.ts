import { detectEntities, type EntityClass, redactValue } from "../guards/index.ts";
import type { Tool } from "../tools/index.ts";

/**
 * The arguments a tool that sends data outside (`sendsDataOutside`) is handed: what the output classes cover is
 * masked, because those arguments leave the system. An argument that is exactly one email address or phone
 * number is where the message goes, not what it carries, and is kept. Other tools get their arguments as is.
 */
export function maskOutboundArguments(tool: Tool, args: unknown, classes: ReadonlySet<EntityClass>): unknown {
  if (!tool.sendsDataOutside || classes.size === 0) return args;
  const { value, findings } = redactValue(args, classes);
  if (findings.length === 0) return args;
  return keepRecipients(args, value, classes);
}

function keepRecipients(original: unknown, masked: unknown, classes: ReadonlySet<EntityClass>): unknown {
  if (typeof original === "string") return isRecipient(original, classes) ? original : masked;
  if (Array.isArray(original) && Array.isArray(masked)) {
    return original.map((item, index) => keepRecipients(item, masked[index], classes));
  }
  if (original !== null && typeof original === "object" && masked !== null && typeof masked === "object") {
    const maskedRecord = masked as Record<string, unknown>;
    return Object.fromEntries(
      Object.entries(original as Record<string, unknown>).map(([key, item]) => [
        key,
        keepRecipients(item, maskedRecord[key], classes),
      ]),
    );
  }
  return masked;
}

function isRecipient(value: string, classes: ReadonlySet<EntityClass>): boolean {
  const trimmed = value.trim();
  const findings = detectEntities(trimmed, classes);
  return (
    findings.length === 1 &&
    (findings[0]!.type === "email" || findings[0]!.type === "phone") &&
    findings[0]!.start === 0 &&
    findings[0]!.end === trimmed.length
  );
}
