import type { BudgetLedger, ModelCallRecord } from "../governance/index.ts";

/** Buffers cost records and writes them in batches, so recording never sits in a call's latency. */
export type CallRecorder = { add(record: ModelCallRecord): void; close(): Promise<void> };

export function createCallRecorder(options: {
  ledger: BudgetLedger;
  log: (message: string) => void;
  maxBatch?: number;
  intervalMs?: number;
}): CallRecorder {
  const maxBatch = options.maxBatch ?? 500;
  const intervalMs = options.intervalMs ?? 50;
  let buffer: ModelCallRecord[] = [];
  let timer: NodeJS.Timeout | null = null;
  let writing: Promise<void> = Promise.resolve();

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (buffer.length === 0) return;
    const batch = buffer;
    buffer = [];
    writing = writing
      .then(() => options.ledger.recordCalls(batch))
      .catch((error: unknown) =>
        options.log(`cost records: writing ${batch.length} failed: ${String(error)}`),
      );
  };
  return {
    add(record) {
      buffer.push(record);
      if (buffer.length >= maxBatch) flush();
      else timer ??= setTimeout(flush, intervalMs);
    },
    async close() {
      flush();
      await writing;
    },
  };
}
