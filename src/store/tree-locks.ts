import type { SqlClient } from "./store.ts";

/**
 * Advisory locks per run tree, keyed by the tree's root run id. Creating a child takes its tree's lock shared (many
 * children may be created at once); cancelling any run of the tree takes it exclusive, so the cancel's recursive
 * statement runs with no child creation in flight. A hash collision between two trees only serialises them.
 */
const TREE_LOCK_SEED = 4_711_203_015;

/** Hold the tree's lock, shared, to the end of the transaction. */
export async function lockTreeShared(tx: SqlClient, rootRunId: string): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock_shared(hashtextextended($1, $2::bigint))", [
    rootRunId,
    TREE_LOCK_SEED,
  ]);
}

/** Hold the tree's lock, exclusive, to the end of the transaction. */
export async function lockTreeExclusive(tx: SqlClient, rootRunId: string): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock(hashtextextended($1, $2::bigint))", [
    rootRunId,
    TREE_LOCK_SEED,
  ]);
}
