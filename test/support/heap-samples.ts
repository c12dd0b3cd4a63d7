import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/**
 * The data this process's heap holds live now: the used size of every heap space after two full collections (the
 * second frees what finalizers let go), less the spaces that hold compiled code and bytecode (`code_*`,
 * `trusted_*`), which grow as the engine optimises hot functions and would read as a leak of the first runs.
 */
export function liveHeapBytes(): number {
  gc();
  gc();
  let bytes = 0;
  for (const space of getHeapSpaceStatistics()) {
    if (space.space_name.includes("code") || space.space_name.includes("trusted")) continue;
    bytes += space.space_used_size;
  }
  return bytes;
}

/** `liveHeapBytes` once callbacks already due have run (a lease released, a wait's timer cleared). */
export async function settledHeapBytes(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 250));
  return liveHeapBytes();
}

/** One sample of the live heap at a point of a scenario's progress (items done, children waiting). */
export type HeapSample = { at: number; heapBytes: number };

/**
 * The heap's growth per unit of progress (per item, per waiting child), in bytes: the median of the slopes between
 * every pair of samples (Theil–Sen), so one sample that a collection happened to leave high or low does not tilt it.
 */
export function bytesPerUnit(samples: readonly HeapSample[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < samples.length; i += 1) {
    for (let j = i + 1; j < samples.length; j += 1) {
      const run = samples[j]!.at - samples[i]!.at;
      if (run !== 0) slopes.push((samples[j]!.heapBytes - samples[i]!.heapBytes) / run);
    }
  }
  if (slopes.length === 0)
    throw new Error(`a slope needs samples at two points or more, not ${samples.length}`);
  slopes.sort((a, b) => a - b);
  const middle = Math.floor(slopes.length / 2);
  return slopes.length % 2 === 1 ? slopes[middle]! : (slopes[middle - 1]! + slopes[middle]!) / 2;
}

export const MiB = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
