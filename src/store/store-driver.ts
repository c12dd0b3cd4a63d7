import type { SqlClient } from "./store.ts";

/** One connection inside a transaction that can also run multi-statement scripts (migrations). */
export interface DriverTransaction extends SqlClient {
  exec(script: string): Promise<void>;
}

/** A live subscription to database notifications; `stop` ends it and frees its connection. */
export type NotificationSubscription = { stop(): Promise<void> };

/**
 * What SqlStore needs from a database client. Each driver is a thin wrapper, so every line of Keel's SQL
 * lives once in SqlStore and runs unchanged on PGlite and PostgreSQL (ARCHITECTURE.md §2.6).
 */
export interface StoreDriver {
  readonly kind: "pglite" | "postgres";
  /** Plain queries, each on whichever connection is free. */
  readonly sql: SqlClient;
  /** Run `work` in one transaction on one connection; commit when it resolves, roll back when it throws. */
  transaction<T>(work: (tx: DriverTransaction) => Promise<T>): Promise<T>;
  /**
   * Receive `NOTIFY`s on `channels` sent by other connections. `onLost` is called once when the subscription
   * breaks (a dropped connection) so the caller can wake its waiters and subscribe again.
   */
  listen(options: {
    channels: readonly string[];
    onNotification: (channel: string, payload: string) => void;
    onLost: (error: Error) => void;
  }): Promise<NotificationSubscription>;
  /** Free what the driver opened; the client it was given is closed only when the driver owns it. */
  close(): Promise<void>;
}
