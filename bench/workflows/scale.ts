/**
 * `npm run bench:workflows:scale [-- --items N] [-- --children N] [-- --store pglite|postgres] [-- --skip map|children]`:
 * the worker's live heap (after forced collections) while workflows run at scale, on one store:
 *   1. a `map` over N items (default 1,000) with tool branches (50 at a time), and with agent branches (N child
 *      runs, 20 at a time), each against maps of N/10 items in the same run: the heap's growth per item while the
 *      map runs, its peak, and what stays once the run ended;
 *   2. a parent suspended over N children (default 10,000) that each wait for a signal: the heap at every tenth
 *      of them suspended and its slope per child, then every child signalled and the parent's end.
 */
import { parseArgs } from "node:util";
import { openStore } from "../../src/store/open-store.ts";
import type { SqlStore } from "../../src/store/sql-store.ts";
import { MiB } from "../../test/support/heap-samples.ts";
import { startTemporaryPostgres, type TemporaryPostgres } from "../../test/support/temporary-postgres.ts";
import { createTestDatabase } from "../../test/support/test-database.ts";
import { mapAtScale, waitingChildrenAtScale } from "../../test/support/workflow-scale.ts";
import { announceMachine, reportMachineLoad } from "../machine-cpu.ts";

const { values } = parseArgs({
  options: {
    items: { type: "string", default: "1000" },
    children: { type: "string", default: "10000" },
    store: { type: "string", default: "pglite" },
    skip: { type: "string", multiple: true, default: [] },
  },
});
const items = atLeast("--items", values.items, 100);
const children = atLeast("--children", values.children, 100);
if (values.store !== "pglite" && values.store !== "postgres") {
  throw new Error(`--store must be pglite or postgres, not ${values.store}`);
}

const machine = announceMachine(`Keel workflows at scale on ${values.store}`);
let postgres: TemporaryPostgres | null = null;
async function freshStore(): Promise<SqlStore> {
  if (values.store === "pglite") return await openStore({});
  postgres ??= await startTemporaryPostgres({ durable: true });
  return await openStore({ databaseUrl: await createTestDatabase(postgres.url) });
}
const KiB = (bytes: number) => `${(bytes / 1024).toFixed(2)} KiB`;

try {
  if (!values.skip.includes("map")) {
    console.log(
      `\n1. A map over ${items} items against one over ${items / 10}, live heap after forced collections` +
        ` (three maps of ${items / 10} first, unreported, so the engine has optimised the code):`,
    );
    for (const branches of ["tool", "agent"] as const) {
      const store = await freshStore();
      try {
        const sizes = [items / 10, items / 10, items / 10, items / 10, items, items / 10, items];
        for (const [round, size] of sizes.entries()) {
          const result = await mapAtScale({
            store,
            items: size,
            branches,
            concurrency: branches === "tool" ? 50 : 20,
            sampleEvery: Math.max(10, size / 20),
          });
          if (result.status !== "completed" || !result.outputsCorrect) {
            throw new Error(
              `the ${branches} map over ${size} items ended ${result.status}, outputs correct: ${result.outputsCorrect}`,
            );
          }
          if (round < 3) continue;
          console.log(
            `   ${branches.padEnd(5)} branches, ${String(size).padStart(6)} items: ${(result.durationMs / 1000).toFixed(1)} s, ` +
              `baseline ${MiB(result.baselineBytes)}, peak +${MiB(result.peakGrowthBytes)}, ` +
              `slope ${KiB(result.bytesPerItem)}/item (output ${result.outputBytes} B), retained after ${KiB(result.retainedBytes)}`,
          );
        }
      } finally {
        await store.close();
      }
    }
  }
  if (!values.skip.includes("children")) {
    console.log(`\n2. A parent suspended over ${children} children waiting for a signal:`);
    const store = await freshStore();
    try {
      // A small round first, on the same store, so the code is compiled and the heap settled before the measured one.
      await waitingChildrenAtScale({ store, children: Math.max(20, children / 100), sampleEvery: 10 });
      const result = await waitingChildrenAtScale({
        store,
        children,
        sampleEvery: Math.max(10, children / 10),
        signalConcurrency: 4,
        log: (line) => console.log(`   ${line}`),
      });
      console.log(
        `   idle heap ${MiB(result.idleBytes)}; parent suspended over ${children} queued children: +${KiB(result.parentSuspendedBytes)}`,
      );
      for (const sample of result.samples) {
        console.log(`   ${String(sample.at).padStart(6)} children suspended: ${MiB(sample.heapBytes)}`);
      }
      console.log(`   slope: ${result.bytesPerChild.toFixed(1)} bytes per suspended child`);
      console.log(
        `   parent ${result.status}, every payload in order: ${result.answerCorrect}; start ${(result.timings.startChildrenMs / 1000).toFixed(1)} s, ` +
          `children suspend ${(result.timings.suspendChildrenMs / 1000).toFixed(1)} s, signals to the parent's end ${(result.timings.settleMs / 1000).toFixed(1)} s`,
      );
    } finally {
      await store.close();
    }
  }
} finally {
  await (postgres as TemporaryPostgres | null)?.stop();
}
reportMachineLoad(machine);

function atLeast(flag: string, text: string, least: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < least)
    throw new Error(`${flag} must be an integer ≥ ${least}, not ${text}`);
  return value;
}
