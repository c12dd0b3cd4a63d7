import type { CancelRequest, RunRecord } from "./run-record.ts";

/** One run of a tree with the children read under it, oldest first. */
export type RunTreeNode = {
  run: RunRecord;
  children: RunTreeNode[];
  /** True when the run has more children than the tree carries: page through them with `listChildren`. */
  moreChildren: boolean;
};

/** A run and its descendants as far as the bounds allowed. */
export type RunTree = {
  root: RunTreeNode;
  /** Runs in the tree, the root included. */
  runs: number;
  /** True when a bound (depth, runs, children per run) left descendants out. */
  truncated: boolean;
};

/** Bounds of a tree read: the deepest level, the most runs, the most children under one run. */
export type RunTreeOptions = {
  runId: string;
  /** Levels below the root (default 16, at most 64). */
  maxDepth?: number;
  /** Runs in all, the root included (default 1,000, at most 10,000). */
  maxRuns?: number;
  /** Children read under any one run (default 100, at most 1,000). */
  maxChildren?: number;
};

/** A page of a run's children, oldest first. */
export type ListChildrenOptions = {
  runId: string;
  /** At most this many (default 50, at most 1,000). */
  limit?: number;
  /** The last child of the previous page: the page starts after it. */
  after?: string;
};

/** What `cancelTree` marked: the run as it now stands and the ids of every run newly marked for cancellation. */
export type CancelTreeResult = {
  run: RunRecord;
  marked: string[];
  /**
   * Each newly marked run's `last_seq` as the cancel committed it: every event after it was committed after the
   * cancel, and none of those starts work (the cancel fence, `STARTS_WORK`).
   */
  fencedAt: { runId: string; lastSeq: number }[];
};

/**
 * Run trees: child runs started by a node of another run (`CreateRunOptions.parent`), read as a tree and cancelled
 * as one. Part of the `Store` port, kept in its own declaration.
 */
export interface RunTreeStore {
  /** A page of a run's children, oldest first; empty for a run without children or an unknown run. */
  listChildren(options: ListChildrenOptions): Promise<RunRecord[]>;
  /** The run and its descendants, breadth first within the bounds; null for an unknown run. */
  getRunTree(options: RunTreeOptions): Promise<RunTree | null>;
  /**
   * Mark the run and every descendant that has not ended for cancellation, in one recursive statement, serialised
   * with the creation of children anywhere in the same tree: a child created after it is created already marked.
   * From its commit on, the store refuses any append to a marked run that starts work (`cancelled`); events that
   * settle work in flight and end the run are still accepted. The run keeps `request` (who asked and why; a run
   * already marked keeps the first), each descendant it newly marks the same requester with a reason naming this
   * run (`descendantCancelRequest`). Null for an unknown run.
   */
  cancelTree(runId: string, request: CancelRequest): Promise<CancelTreeResult | null>;
}
