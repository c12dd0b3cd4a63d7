import { z } from "zod";
import { Identifier } from "./fields.ts";

/**
 * Where a listing's page stopped, as a cursor carries it: the last row's creation instant exactly as stored (UTC, to
 * the microsecond, which a JavaScript `Date` cannot hold) and its id, the tie-break between rows created together.
 */
export type CursorPosition = { createdAt: string; id: string };

/** What a cursor field takes, in words. */
export const CURSOR_EXPECTED = "expected the nextCursor of an earlier page, as it was returned";

/** The stored instant a cursor carries: six fraction digits, UTC, a year PostgreSQL reads. */
const EXACT_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** The opaque text of a page's position: base64url of a small JSON array, so clients pass it back untouched. */
export function encodeCursor(position: CursorPosition): string {
  return btoa(JSON.stringify([position.createdAt, position.id]))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

/** The position a cursor names, or null when it is not one `encodeCursor` made (or names no real instant). */
export function decodeCursor(cursor: string): CursorPosition | null {
  if (!/^[A-Za-z0-9_-]{1,600}$/.test(cursor)) return null;
  let decoded: unknown;
  try {
    decoded = JSON.parse(atob(cursor.replaceAll("-", "+").replaceAll("_", "/")));
  } catch {
    return null;
  }
  if (!Array.isArray(decoded) || decoded.length !== 2) return null;
  const [createdAt, id] = decoded as unknown[];
  if (typeof createdAt !== "string" || typeof id !== "string") return null;
  if (!isExactInstant(createdAt) || !Identifier.safeParse(id).success) return null;
  return { createdAt, id };
}

/** Whether the text is an instant as the store writes it and one that exists (no 30 February, no year 0). */
function isExactInstant(value: string): boolean {
  const match = EXACT_INSTANT.exec(value);
  if (!match || Number(match[1]) < 1) return false;
  // Milliseconds are enough to check the calendar: a date that does not exist reads back as another one.
  const milliseconds = Date.parse(`${value.slice(0, 23)}Z`);
  return (
    !Number.isNaN(milliseconds) && new Date(milliseconds).toISOString().slice(0, 23) === value.slice(0, 23)
  );
}

/** A `cursor` query field, read as the position it names; any other text is a 400 naming the field. */
export const cursor = z
  .string()
  .max(600)
  .transform((value, context) => {
    const position = decodeCursor(value);
    if (position === null) {
      context.addIssue({ code: "custom", message: CURSOR_EXPECTED });
      return z.NEVER;
    }
    return position;
  });
