/**
 * Worker thread entry: hashes pages of leaves for `createLeafPageHasher`. Each reply copies hashes into
 * fresh arrays so structured cloning moves 32 bytes per hash, not the pooled buffers they were cut from.
 */
import { parentPort } from "node:worker_threads";
import { hashLeafPage, type LeafPageInput, type LeafPageResult } from "./hash-leaf-page.ts";

const port = parentPort;
if (!port) throw new Error("leaf-page-worker.ts runs only as a worker thread");

port.on("message", (message: { id: number; input: LeafPageInput }) => {
  let result: LeafPageResult;
  try {
    result = hashLeafPage(message.input);
  } catch (error) {
    port.postMessage({ id: message.id, error: (error as Error).message });
    return;
  }
  const copy = (peaks: LeafPageResult["peaks"]) =>
    peaks.map(({ level, hash }) => ({ level, hash: new Uint8Array(hash) }));
  const reply: LeafPageResult = {
    peaks: copy(result.peaks),
    cutPeaks: result.cutPeaks.map(copy),
    leafHashes: result.leafHashes,
    problems: result.problems,
  };
  port.postMessage(
    { id: message.id, result: reply },
    result.leafHashes ? [result.leafHashes.buffer as ArrayBuffer] : [],
  );
});
