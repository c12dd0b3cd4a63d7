/**
 * One system under test in a process of its own (`node bench/peers/peer-process.ts <system> <database url>
 * <plan json>`, forked by bench/peers/run.ts): its heap, event loop and module state (DBOS is a process-wide
 * singleton) are its own, so what one system leaves behind is not collected during another's phase. It runs the
 * phases the parent asks for, one at a time, and answers with what each did.
 */
import type { ChildMessage, ParentMessage, PeerName, PeerPlan, PeerSystem } from "./peer-system.ts";

const [name, databaseUrl, planJson] = process.argv.slice(2);
if (!name || !databaseUrl || !planJson)
  throw new Error("usage: peer-process.ts <system> <database url> <plan json>");
const plan = JSON.parse(planJson) as PeerPlan;

const send = (message: ChildMessage) => process.send?.(message);

async function open(system: PeerName): Promise<PeerSystem> {
  switch (system) {
    case "keel":
      return await (await import("./keel-peer.ts")).openKeelPeer(databaseUrl!, plan);
    case "dbos":
      return await (await import("./dbos-peer.ts")).openDbosPeer(databaseUrl!, plan);
    case "langgraph":
      return await (await import("./langgraph-peer.ts")).openLanggraphPeer(databaseUrl!, plan);
    case "raw-insert":
      return await (await import("./raw-insert-peer.ts")).openRawInsertPeer(databaseUrl!, plan);
  }
}

const fail = (error: unknown) => {
  send({ type: "error", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exitCode = 1;
  process.disconnect?.();
};

try {
  const system = await open(name as PeerName);
  // One message at a time: the parent waits for each answer before it sends the next.
  process.on("message", (message: ParentMessage) => {
    void (async () => {
      try {
        switch (message.type) {
          case "phase": {
            const outcome =
              message.kind === "sequential"
                ? await system.sequential(message.count)
                : await system.concurrent(message.count);
            send({ type: "phase", outcome });
            break;
          }
          case "verify":
            send({ type: "verified", summary: await system.verify() });
            break;
          case "close":
            await system.close();
            send({ type: "closed" });
            process.disconnect?.();
            break;
        }
      } catch (error) {
        fail(error);
      }
    })();
  });
  send({ type: "ready", describe: system.describe });
} catch (error) {
  fail(error);
}
