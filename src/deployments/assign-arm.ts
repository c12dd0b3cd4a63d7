import { createHash, randomUUID } from "node:crypto";
import type { StickinessKey } from "../spec/index.ts";

/** The key a run is assigned by, and which kind it is (the kind can fall back: no session means the run's own). */
export type StickyKey = { key: string; keyKind: StickinessKey };

/**
 * The sticky key of a new run under a deployment's stickiness: `user` is the person the run is about (its subject)
 * or else the principal's subject; `session` is the session id (a run outside a session falls back to `run`);
 * `run` is the idempotency key (so a retried request lands on the same arm) or else a fresh random id.
 */
export function stickyKeyOf(options: {
  stickiness: StickinessKey;
  principalSubject: string;
  subject?: string | undefined;
  sessionId?: string | undefined;
  idempotencyKey?: string | undefined;
}): StickyKey {
  if (options.stickiness === "user")
    return { key: options.subject ?? options.principalSubject, keyKind: "user" };
  if (options.stickiness === "session" && options.sessionId !== undefined)
    return { key: options.sessionId, keyKind: "session" };
  return { key: options.idempotencyKey ?? randomUUID(), keyKind: "run" };
}

/**
 * Where a key falls in [0, 100): the first 48 bits of SHA-256 of the deployment id (the salt, so two deployments
 * split the same users independently) and the key. The same key always falls at the same point, so a ramp from
 * 5% to 25% keeps every key that was on the candidate there.
 */
export function bucketOf(deploymentId: string, key: string): number {
  const digest = createHash("sha256").update(`${deploymentId}\u0000${key}`).digest();
  return (digest.readUIntBE(0, 6) / 2 ** 48) * 100;
}

/** The arm a key is on while the candidate takes `candidatePercent` of new runs. */
export function assignArm(options: {
  deploymentId: string;
  key: string;
  candidatePercent: number;
}): "stable" | "candidate" {
  return bucketOf(options.deploymentId, options.key) < options.candidatePercent ? "candidate" : "stable";
}
