import assert from "node:assert/strict";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { Governor } from "../governance/governor.ts";
import type { Store } from "../store/store.ts";
import { createWorker } from "./worker.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

test("the claim loop keeps no memory per wait (AbortSignal.any on the stop signal leaked weak references)", async () => {
  let waits = 0;
  let release: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    release = resolve;
  });
  // A store with no work that answers every wait at once: the loop turns as fast as it can.
  const store = {
    claimRuns: async () => [],
    waitForWork: async () => {
      waits += 1;
      if (waits === 2_000 || waits === 42_000 || waits === 82_000) release();
    },
  } as unknown as Store;
  const worker = createWorker({
    store,
    agents: () => undefined,
    governor: {} as Governor,
    owner: "memory-test",
  });
  worker.start();
  await done;
  // Two windows of 40,000 waits each: a leak grows the heap in both, while a new heap page the collector happens
  // to keep (about 1 MB, seen now and then on a loaded machine) grows it in one.
  const growth: number[] = [];
  for (let window = 0; window < 2; window += 1) {
    gc();
    const before = process.memoryUsage().heapUsed;
    await new Promise<void>((resolve) => {
      release = resolve;
    });
    gc();
    growth.push(process.memoryUsage().heapUsed - before);
  }
  await worker.stop();
  assert.ok(waits >= 82_000);
  const grown = Math.min(...growth);
  assert.ok(
    grown < 1_000_000,
    `the heap grew by ${growth.join(" and ")} bytes over two windows of 40,000 waits`,
  );
});
