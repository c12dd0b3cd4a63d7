/**
 * Where a newest-first listing stopped: its last row's `created_at` exactly as stored and its id, the tie-break.
 * A JavaScript `Date` holds milliseconds while the column holds microseconds, and rows written in one transaction
 * share one `created_at`: only the stored instant and the id together name a row's place in the order, so a page
 * that starts after them neither skips nor repeats a row.
 */
export type ListPosition = {
  /** The row's `created_at` in UTC with all six fraction digits: `2026-12-07T12:14:20.123456Z`. */
  createdAt: string;
  id: string;
};

/** The rows of one page and the position the next page starts after, null when no row is left. */
export type ListPage<Row> = { rows: Row[]; next: ListPosition | null };

/** The SQL that reads a timestamptz column as a ListPosition's `createdAt`: the text `::timestamptz` reads back exactly. */
export function exactInstantSql(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/**
 * One page of at most `limit` rows from a query asked for `limit + 1`: the extra row only says that another page
 * exists, so the last page ends with a null position instead of an empty page after it.
 */
export function pageOf<Row extends { position: string }, Item>(
  rows: readonly Row[],
  limit: number,
  options: { idOf: (row: Row) => string; toRecord: (row: Row) => Item },
): ListPage<Item> {
  const kept = rows.slice(0, limit);
  const last = kept.at(-1);
  return {
    rows: kept.map(options.toRecord),
    next: rows.length > limit && last ? { createdAt: last.position, id: options.idOf(last) } : null,
  };
}
