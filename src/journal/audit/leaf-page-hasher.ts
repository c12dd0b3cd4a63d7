import { Worker } from "node:worker_threads";
import { KeelError } from "../../errors/index.ts";
import { hashLeafPage, type LeafPageInput, type LeafPageResult } from "./hash-leaf-page.ts";

/** Hashes pages of leaves, on worker threads or inline; results come back in any order, each to its caller. */
export type LeafPageHasher = {
  hash(input: LeafPageInput): Promise<LeafPageResult>;
  close(): Promise<void>;
};

type Pending = { resolve: (result: LeafPageResult) => void; reject: (error: Error) => void };

/**
 * A hasher with `threads` worker threads (0 hashes inline on the caller's thread). Pages go to the worker with
 * the fewest pages queued, so two cores hash two pages at once while the caller reads the next.
 */
/** `.ts` when running from the sources, `.js` in the built package: the worker file sits beside this module. */
const MODULE_EXTENSION = import.meta.url.endsWith(".ts") ? ".ts" : ".js";

export function createLeafPageHasher(options: { threads: number }): LeafPageHasher {
  if (!Number.isInteger(options.threads) || options.threads < 0) {
    throw new KeelError("invalid_request", "threads must be a non-negative integer");
  }
  if (options.threads === 0) {
    return { hash: async (input) => hashLeafPage(input), close: async () => undefined };
  }
  const pending = new Map<number, Pending>();
  let nextId = 0;
  const workers = Array.from({ length: options.threads }, () => {
    const worker = new Worker(new URL(`./leaf-page-worker${MODULE_EXTENSION}`, import.meta.url));
    const entry = { worker, queued: 0 };
    worker.on("message", (message: { id: number; result?: LeafPageResult; error?: string }) => {
      entry.queued -= 1;
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (message.result) waiter?.resolve(message.result);
      else waiter?.reject(new KeelError("internal", `hashing a page of leaves failed: ${message.error}`));
    });
    worker.on("error", (error) => {
      for (const waiter of pending.values()) waiter.reject(error);
      pending.clear();
    });
    return entry;
  });
  return {
    hash: async (input) =>
      await new Promise<LeafPageResult>((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        const entry = workers.reduce((least, candidate) =>
          candidate.queued < least.queued ? candidate : least,
        );
        entry.queued += 1;
        entry.worker.postMessage({ id, input });
      }),
    close: async () => {
      await Promise.all(workers.map(async ({ worker }) => await worker.terminate()));
    },
  };
}
