import type { Checkpoint } from "../journal/index.ts";
import { assignLeafIndexes } from "./assign-leaf-indexes.ts";
import type { AuditSigner } from "./audit-keys.ts";
import { createAuditCheckpoint } from "./create-audit-checkpoint.ts";
import type { SqlClient } from "./store.ts";

/** When to sign: after this many new leaves, or this long after the last checkpoint if anything was appended. */
export type CheckpointSchedule = { everyEvents: number; everyMs: number };

/**
 * Leaves numbered between two VACUUMs of the sequencer's queue on PGlite, which has no autovacuum: the queue's deleted
 * rows would otherwise pile up, and every pass reads past them.
 */
const PGLITE_VACUUM_EVERY = 10_000;

/** Keel's default: a checkpoint per 1,000 events, and at least every 10 seconds while events arrive. */
export const DEFAULT_CHECKPOINT_SCHEDULE: CheckpointSchedule = { everyEvents: 1_000, everyMs: 10_000 };

/**
 * Number new events and sign checkpoints in the background on a schedule: each poll (at most once a second) runs
 * the log's sequencer, then the size it reached decides, so appends never wait for either. Any number of processes may run one; the checkpoint lock
 * makes them take turns.
 */
export function startAuditCheckpoints(options: {
  sql: SqlClient;
  signer: AuditSigner;
  schedule?: CheckpointSchedule;
  log?: (message: string) => void;
  onCheckpoint?: (checkpoint: Checkpoint) => void;
}): { stop: () => Promise<void> } {
  const schedule = options.schedule ?? DEFAULT_CHECKPOINT_SCHEDULE;
  const pollMs = Math.max(50, Math.min(1_000, schedule.everyMs));
  let lastAt = Date.now();
  let numberedSinceVacuum = 0;
  let running: Promise<void> | null = null;
  let stopped = false;
  const tick = async () => {
    numberedSinceVacuum += await assignLeafIndexes(options.sql);
    if (options.sql.kind === "pglite" && numberedSinceVacuum >= PGLITE_VACUUM_EVERY) {
      numberedSinceVacuum = 0;
      await options.sql.query("VACUUM keel_audit_pending");
    }
    const { rows } = await options.sql.query<{ size: number | string; signed: number | string }>(
      `SELECT l.size, coalesce((SELECT max(tree_size) FROM keel_audit_checkpoints), 0) AS signed FROM keel_audit_log AS l`,
    );
    const pending = Number(rows[0]?.size ?? 0) - Number(rows[0]?.signed ?? 0);
    if (pending <= 0 || (pending < schedule.everyEvents && Date.now() - lastAt < schedule.everyMs)) return;
    const checkpoint = await createAuditCheckpoint(options.sql, { signer: options.signer });
    lastAt = Date.now();
    if (checkpoint) options.onCheckpoint?.(checkpoint);
  };
  const timer = setInterval(() => {
    if (running || stopped) return;
    running = tick()
      .catch((error: unknown) => options.log?.(`audit checkpoint failed: ${(error as Error).message}`))
      .finally(() => {
        running = null;
      });
  }, pollMs);
  timer.unref();
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
