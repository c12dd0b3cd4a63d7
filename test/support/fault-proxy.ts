import { createConnection, createServer, type Socket } from "node:net";

/** A loopback TCP proxy in front of a PostgreSQL server whose link a test can cut and restore. */
export type FaultProxy = {
  /** The database URL of `targetUrl`, reached through the proxy. */
  url: string;
  /** Drop every open connection and reset every new one until `restore`, as a network outage would. */
  cut(): void;
  /** Forward connections again. */
  restore(): void;
  close(): Promise<void>;
};

/**
 * Put a proxy between a client and the PostgreSQL at `targetUrl`. Cutting it makes the database unreachable to
 * whoever connects through the proxy (their connections break and new ones are reset), while the server itself
 * and anyone connecting to it directly carry on: a real network fault, local to one test.
 */
export async function startFaultProxy(targetUrl: string): Promise<FaultProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  let cut = false;
  const server = createServer((client) => {
    if (cut) {
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection({ host: target.hostname, port: Number(target.port || 5432) });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const url = new URL(targetUrl);
  url.hostname = "127.0.0.1";
  url.port = String(typeof address === "object" && address ? address.port : 0);
  return {
    url: url.toString(),
    cut() {
      cut = true;
      for (const socket of sockets) socket.resetAndDestroy();
    },
    restore() {
      cut = false;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
