import { createServer } from "node:net";
import { KeelError } from "../errors/index.ts";

/**
 * Refuse a port that is taken before anything else starts: one line naming the port, in the time it takes to
 * bind, not after the store is opened and the agents are loaded. Port 0 (any free port) is never taken.
 */
export async function checkPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once("error", reject);
      probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
    });
  } catch (error) {
    throw listenFailure(error, host, port) ?? error;
  }
}

/** A failure to listen said plainly — the port in use, a privileged port, an address not on this machine — or null. */
export function listenFailure(error: unknown, host: string, port: number): KeelError | null {
  switch ((error as { code?: unknown } | null)?.code) {
    case "EADDRINUSE":
      return new KeelError(
        "conflict",
        `port ${port} on ${host} is already in use: stop the process that holds it, or choose another port with --port (or KEEL_PORT)`,
        { cause: error },
      );
    case "EACCES":
      return new KeelError(
        "forbidden",
        `port ${port} on ${host} needs privileges this process does not have: choose a port above 1023 with --port (or KEEL_PORT)`,
        { cause: error },
      );
    case "EADDRNOTAVAIL":
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new KeelError(
        "invalid_request",
        `cannot listen on ${host}: it is not an address of this machine; choose another with --host (or KEEL_HOST)`,
        { cause: error },
      );
    default:
      return null;
  }
}
