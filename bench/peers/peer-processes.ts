/** The parent's side of a system's process (bench/peers/peer-process.ts): start it, ask it, stop it. */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type {
  ChildMessage,
  ParentMessage,
  PeerName,
  PeerPlan,
  PhaseKind,
  PhaseOutcome,
} from "./peer-system.ts";

export type PeerProcess = {
  name: PeerName;
  describe: Record<string, string>;
  phase(kind: PhaseKind, count: number): Promise<PhaseOutcome>;
  verify(): Promise<string>;
  close(): Promise<void>;
  /** End the process without asking it, if it is still there (after a failure elsewhere). */
  kill(): void;
};

const CHILD = fileURLToPath(new URL("./peer-process.ts", import.meta.url));

export async function startPeerProcess(
  name: PeerName,
  databaseUrl: string,
  plan: PeerPlan,
): Promise<PeerProcess> {
  const child: ChildProcess = fork(CHILD, [name, databaseUrl, JSON.stringify(plan)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    // No tracing exporter may reach out of the machine; these are the only switches LangChain reads.
    env: { ...process.env, LANGSMITH_TRACING: "false", LANGCHAIN_TRACING_V2: "false" },
  });
  let pending: { resolve: (message: ChildMessage) => void; reject: (error: Error) => void } | null = null;
  let exited: Error | null = null;
  child.on("message", (message: ChildMessage) => {
    const waiting = pending;
    pending = null;
    if (message.type === "error") waiting?.reject(new Error(`${name}: ${message.message}`));
    else waiting?.resolve(message);
  });
  child.on("exit", (code, signal) => {
    exited = new Error(`${name}'s process exited (${signal ?? code}) while the benchmark was waiting for it`);
    pending?.reject(exited);
    pending = null;
  });
  const next = async () =>
    await new Promise<ChildMessage>((resolve, reject) => {
      if (exited) reject(exited);
      else pending = { resolve, reject };
    });
  const ask = async <T extends ChildMessage["type"]>(
    message: ParentMessage,
    expected: T,
  ): Promise<Extract<ChildMessage, { type: T }>> => {
    const answer = next();
    child.send(message);
    const reply = await answer;
    if (reply.type !== expected) throw new Error(`${name} answered ${reply.type}, not ${expected}`);
    return reply as Extract<ChildMessage, { type: T }>;
  };

  const ready = await next();
  if (ready.type !== "ready") throw new Error(`${name} started with ${ready.type}`);
  return {
    name,
    describe: ready.describe,
    phase: async (kind, count) => (await ask({ type: "phase", kind, count }, "phase")).outcome,
    verify: async () => (await ask({ type: "verify" }, "verified")).summary,
    async close() {
      const gone = new Promise((resolve) => child.once("exit", resolve));
      await ask({ type: "close" }, "closed");
      // A library that leaves a timer behind would keep its process alive; it has said it closed.
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await gone;
      clearTimeout(timer);
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}
