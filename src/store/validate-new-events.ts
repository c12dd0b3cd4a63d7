import { z } from "zod";
import { type FieldIssue, KeelError } from "../errors/keel-error.ts";
import { type NewEvent, parseNewEvent } from "../journal/events.ts";
import { canonicalJson } from "../journal/hash.ts";

/**
 * Check events before they join a group commit, so one bad request is refused alone instead of failing the
 * transaction it would share. Payloads come back as plain JSON (what canonical JSON parses to), which is
 * exactly what `jsonb` stores and reads back, so the hash computed at append matches the one verified later.
 */
export function validateNewEvents(events: readonly { type: string; payload: unknown }[]): NewEvent[] {
  return events.map((event, index) => {
    let parsed: NewEvent;
    let json: string;
    try {
      parsed = parseNewEvent(event);
      json = canonicalJson(parsed.payload);
    } catch (error) {
      throw new KeelError("invalid_request", `event ${index} (${event.type}) is not valid`, {
        issues: issuesOf(error, `events.${index}`),
        cause: error,
      });
    }
    const payload: unknown = JSON.parse(json);
    const unstorable = findUnstorableString(payload, `events.${index}.payload`);
    if (unstorable) {
      throw new KeelError(
        "invalid_request",
        `event ${index} (${event.type}) has a string jsonb cannot store`,
        {
          issues: [unstorable],
        },
      );
    }
    return { type: parsed.type, payload } as NewEvent;
  });
}

function issuesOf(error: unknown, prefix: string): FieldIssue[] {
  if (error instanceof z.ZodError) {
    return error.issues.map((issue) => ({
      path: [prefix, "payload", ...issue.path.map(String)].join("."),
      message: issue.message,
    }));
  }
  return [{ path: prefix, message: error instanceof Error ? error.message : String(error) }];
}

/**
 * PostgreSQL's jsonb rejects the NUL character and unpaired surrogates; finding them here turns what would be
 * a failed transaction into a clear invalid_request for the one caller who sent them.
 */
function findUnstorableString(value: unknown, path: string): FieldIssue | null {
  if (typeof value === "string") {
    return value.includes("\u0000") || !value.isWellFormed()
      ? { path, message: "contains a NUL character or an unpaired surrogate" }
      : null;
  }
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const issue = findUnstorableString(item, `${path}.${index}`);
      if (issue) return issue;
    }
    return null;
  }
  if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      const issue =
        findUnstorableString(key, `${path}.${key}`) ?? findUnstorableString(item, `${path}.${key}`);
      if (issue) return issue;
    }
  }
  return null;
}
