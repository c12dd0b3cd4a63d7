import { hash } from "node:crypto";
import canonicalize from "canonicalize";

/** The `prev_hash` of a run's first event. */
export const GENESIS_HASH = "0".repeat(64);

/** RFC 8785 canonical JSON of a value; `undefined` fields are dropped as JSON.stringify would. */
export function canonicalJson(value: unknown): string {
  return canonicalize(value) ?? "null";
}

/** SHA-256 of a payload's canonical JSON, hex. */
export function hashPayload(payload: unknown): string {
  return hash("sha256", canonicalJson(payload), "hex");
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
