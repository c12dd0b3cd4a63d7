// The store: the durable home of runs and their hash-linked journals, behind the `Store` port.
// One SQL core runs on embedded PGlite and on PostgreSQL alike, with leases that fence every append.
export type { AppendStats } from "./append-batcher.ts";
export type { ApprovalQueries, ApprovalRecord, ApprovalStatsRow } from "./approval-store.ts";
export { startAuditCheckpoints } from "./audit-checkpoint-timer.ts";
export { type AuditSigner, loadAuditSigner, readAuditKeys, readGeneratedKey } from "./audit-keys.ts";
export { leafIndexOf, readLatestCheckpoint, readLeaves } from "./audit-log-queries.ts";
export type { AuditQueries } from "./audit-store.ts";
export { storeSubtreeHashes } from "./audit-subtree-hashes.ts";
export { createAuditCheckpoint } from "./create-audit-checkpoint.ts";
export {
  ERASURE_AGENT,
  type ErasureCounts,
  type ErasureReport,
  eraseSubject,
  hashSubject,
} from "./erase-subject.ts";
export { type ExportedBundle, exportAuditBundle } from "./export-audit-bundle.ts";
export { isStoreUnavailable } from "./is-store-unavailable.ts";
export type { KeelStore } from "./keel-store.ts";
export type { ListPage, ListPosition } from "./list-position.ts";
export { createSqlMcpToolPins, type McpToolPin, type McpToolPins } from "./mcp-tool-pins.ts";
export { type OpenStoreOptions, openStore } from "./open-store.ts";
export { pgliteSqlClient } from "./pglite-sql-client.ts";
export { PgliteStore, type PgliteStoreOptions } from "./pglite-store.ts";
export { pooledTransaction, postgresSqlClient } from "./postgres-sql-client.ts";
export { PostgresStore, type PostgresStoreOptions } from "./postgres-store.ts";
export {
  type CancelRequest,
  cancelMessage,
  descendantCancelRequest,
  SYSTEM_ACTOR,
  UNRECORDED_CANCEL,
} from "./run-record.ts";
export type {
  CancelTreeResult,
  ListChildrenOptions,
  RunTree,
  RunTreeNode,
  RunTreeOptions,
  RunTreeStore,
} from "./run-tree-store.ts";
export {
  createSqlSealedArgumentsStore,
  type SealedArgumentsRow,
  type SealedArgumentsStore,
} from "./sealed-arguments.ts";
export {
  newSessionId,
  type SessionQueries,
  type SessionRecord,
  type SessionToolEvent,
  type SessionTurnRecord,
  sqlSessionQueries,
} from "./session-queries.ts";
export { SqlStore } from "./sql-store.ts";
export type {
  CreateRunOptions,
  JournalTransactionResult,
  Lease,
  ListRunsOptions,
  RunPage,
  RunRecord,
  SqlClient,
  Store,
} from "./store.ts";
export { checkTypedEvents } from "./validate-new-events.ts";
export { type StoreAuditVerdict, verifyStoreAuditLog } from "./verify-store-audit-log.ts";
