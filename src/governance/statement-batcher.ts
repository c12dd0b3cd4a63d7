/** Items per statement; a bound keeps one statement's locks, parameters and memory modest under a flood. */
const DEFAULT_MAX_BATCH = 500;

/** Queues items and hands them to one statement per group; see `createStatementBatcher`. */
export type StatementBatcher<Item, Outcome> = { run(item: Item): Promise<Outcome> };

/**
 * Group commit for the budget ledger's hot statements, as the journal's append batcher does for appends: items
 * queued in the same tick, and those arriving while a statement is in flight, go to the next call of `execute`,
 * which answers one outcome per item, in order. Each caller's promise settles only once that statement has
 * committed. When `execute` throws, every caller of that group is rejected with the same error and the queue
 * goes on with the next group.
 */
export function createStatementBatcher<Item, Outcome>(
  execute: (items: Item[]) => Promise<Outcome[]>,
  options: { maxBatch?: number } = {},
): StatementBatcher<Item, Outcome> {
  const maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
  type Pending = { item: Item; resolve: (outcome: Outcome) => void; reject: (error: unknown) => void };
  let queue: Pending[] = [];
  let draining = false;

  async function commit(group: Pending[]): Promise<void> {
    try {
      const outcomes = await execute(group.map((pending) => pending.item));
      if (outcomes.length !== group.length) {
        throw new Error(`a batched statement answered ${outcomes.length} of ${group.length} items`);
      }
      for (const [index, pending] of group.entries()) pending.resolve(outcomes[index]!);
    } catch (error) {
      for (const pending of group) pending.reject(error);
    }
  }

  async function drain(): Promise<void> {
    // Let the rest of this tick queue its items before the first statement starts.
    await new Promise((resolve) => setImmediate(resolve));
    while (queue.length > 0) {
      const group = queue.slice(0, maxBatch);
      queue = queue.slice(maxBatch);
      await commit(group);
    }
    draining = false;
  }

  return {
    async run(item) {
      return await new Promise<Outcome>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        if (draining) return;
        draining = true;
        void drain();
      });
    },
  };
}
