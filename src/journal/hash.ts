import { hash } from "node:crypto";
import canonicalize from "canonicalize";
import { plainCanonicalJson } from "./plain-canonical-json.ts";
import { tooDeepOrLarge } from "./too-deep-or-large.ts";

/** The `prev_hash` of a run's first event. */
export const GENESIS_HASH = "0".repeat(64);

/**
 * RFC 8785 canonical JSON of a value; `undefined` fields are dropped as JSON.stringify would. A value nested so deep
 * that writing it exhausts the stack (or too large for a string) is refused with a KeelError the caller can report,
 * never an error that takes the process down: the HTTP input layer keeps such values out, this is the backstop.
 */
export function canonicalJson(value: unknown): string {
  try {
    return canonicalize(value) ?? "null";
  } catch (error) {
    throw error instanceof RangeError ? tooDeepOrLarge(error) : error;
  }
}

/** SHA-256 of a payload's canonical JSON, hex. Plain JSON (nearly every payload) skips the general writer. */
export function hashPayload(payload: unknown): string {
  return hashCanonicalJson(plainCanonicalJson(payload) ?? canonicalJson(payload));
}

/** `hashPayload` for a payload whose canonical JSON is already written: SHA-256 of that text, hex. */
export function hashCanonicalJson(json: string): string {
  return hash("sha256", json, "hex");
}

/** The link hash of one event: binds its place in the run, its content and the event before it. */
export function hashEvent(fields: {
  runId: string;
  seq: number;
  type: string;
  at: string;
  payloadHash: string;
  prevHash: string;
}): string {
  // One-shot `hash` rather than createHash: this runs for every event on append and on every audit verify.
  return hash(
    "sha256",
    `${fields.prevHash}\n${fields.runId}\n${fields.seq}\n${fields.type}\n${fields.at}\n${fields.payloadHash}`,
    "hex",
  );
}
