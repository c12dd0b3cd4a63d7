import type { Me } from "../session.ts";

/** The roles that read telemetry (traces, spans, scores): every role but invoker, as docs/api.md lists them. */
const READERS = new Set(["admin", "viewer", "deployer", "approver", "operator"]);

/**
 * Whether the caller may read telemetry routes (`GET /v1/traces`, a run's trace and scores). An invoker may start
 * and follow runs but not search them, so its views fall back to the run list and journal.
 */
export function readsTelemetry(me: Me): boolean {
  return me.roles.some((role) => READERS.has(role));
}
