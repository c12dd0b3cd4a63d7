// The store: the durable home of runs and their hash-linked journals, behind the `Store` port.
// One SQL core runs on embedded PGlite and on PostgreSQL alike, with leases that fence every append.
export type { AppendStats } from "./append-batcher.ts";
export { isStoreUnavailable } from "./is-store-unavailable.ts";
export { type OpenStoreOptions, openStore } from "./open-store.ts";
export { pgliteSqlClient } from "./pglite-sql-client.ts";
export { PgliteStore, type PgliteStoreOptions } from "./pglite-store.ts";
export { pooledTransaction, postgresSqlClient } from "./postgres-sql-client.ts";
export { PostgresStore, type PostgresStoreOptions } from "./postgres-store.ts";
export type {
  CancelTreeResult,
  ListChildrenOptions,
  RunTree,
  RunTreeNode,
  RunTreeOptions,
  RunTreeStore,
} from "./run-tree-store.ts";
export { SqlStore } from "./sql-store.ts";
export type { CreateRunOptions, Lease, ListRunsOptions, RunRecord, SqlClient, Store } from "./store.ts";
