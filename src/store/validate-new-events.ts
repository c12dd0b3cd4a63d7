import { z } from "zod";
import { type FieldIssue, KeelError } from "../errors/index.ts";
import {
  canonicalJson,
  isEventType,
  type NewEvent,
  parseNewEvent,
  plainCanonicalJson,
} from "../journal/index.ts";

/** A new event that passed validation, with the canonical JSON of its payload: what is stored and hashed. */
export type ValidatedEvent = NewEvent & { payloadJson: string };

let checkingTypedEvents = false;

/**
 * Parse the interpreter's events against their schemas as well, in this process: the test suite does (every test
 * process, and `keel` with `KEEL_CHECK_EVENTS=1`), so every event every test's runs write is checked, and what
 * production takes as given is proved there.
 */
export function checkTypedEvents(on: boolean): void {
  checkingTypedEvents = on;
}

/**
 * Check events before they join a group commit, so one bad request is refused alone instead of failing the
 * transaction it would share. Each payload is canonicalised here once; the append stores and hashes that same
 * string, so the hash computed at append matches the one verified later.
 *
 * `typed`: the events were built by Keel's interpreter from its own typed code (`NewEvent` is inferred from the same
 * schemas), and the values inside them that came from outside — a model's decision, a tool's arguments and result,
 * an error — were checked where they entered. Their payloads are then not parsed against the schemas again (that
 * parse was the largest part of a step's CPU in the store), but still canonicalised, and anything jsonb cannot store
 * is still refused; the payload handed back is the caller's own object. Any other caller's events are parsed, and
 * come back as plain JSON (what canonical JSON parses to), exactly what `jsonb` stores and reads back.
 */
export function validateNewEvents(
  events: readonly { type: string; payload: unknown }[],
  options: { typed?: boolean; checkTyped?: boolean } = {},
): ValidatedEvent[] {
  const trusted = options.typed === true && !(options.checkTyped ?? checkingTypedEvents);
  return events.map((event, index) => {
    let parsed: NewEvent;
    if (trusted) {
      if (!isEventType(event.type)) {
        throw notValid(event, index, new Error(`unknown journal event type "${event.type}"`));
      }
      parsed = event as NewEvent;
    } else {
      try {
        parsed = parseNewEvent(event);
      } catch (error) {
        throw notValid(event, index, error);
      }
    }
    // Canonical JSON of canonical JSON parsed back is the same string, so the plain path and the general one
    // store and hash the same text the append used to compute from the parsed-back payload.
    const plain = plainCanonicalJson(parsed.payload);
    if (plain !== null) {
      const payload = trusted ? parsed.payload : JSON.parse(plain);
      return { type: parsed.type, payload, payloadJson: plain } as ValidatedEvent;
    }
    let json: string;
    try {
      json = canonicalJson(parsed.payload);
    } catch (error) {
      throw notValid(event, index, error);
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
    return { type: parsed.type, payload, payloadJson: json } as ValidatedEvent;
  });
}

function notValid(event: { type: string }, index: number, error: unknown): KeelError {
  return new KeelError("invalid_request", `event ${index} (${event.type}) is not valid`, {
    issues: issuesOf(error, `events.${index}`),
    cause: error,
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
