import { hostname } from "node:os";
import { type ServerType, serve } from "@hono/node-server";
import type { Hono } from "hono";
import type { KeelGovernor } from "../governance/index.ts";
import type { AgentCatalog, AgentPackage, StopOptions, Worker } from "../runtime/index.ts";
import type { KeelStore } from "../store/index.ts";
import { createKeel } from "./create-keel.ts";
import type { BoundAddress } from "./guard-browser-requests.ts";
import { type HttpTimeouts, resolveHttpTimeouts } from "./http-timeouts.ts";

export type ServerOptions = {
  store: KeelStore;
  packages: readonly AgentPackage[];
  env: Readonly<Record<string, string | undefined>>;
  host: string;
  port: number;
  leaseTtlMs?: number;
  log?: (message: string) => void;
  /** Where the embedded store keeps the key that seals masked tool-call arguments (when KEEL_SECRET_KEY is unset). */
  secretKeyFile?: string;
  /** Web origins besides the server's own that may send state-changing requests (`--allow-origin`). */
  allowedOrigins?: readonly string[];
  /** How long slow clients may take (http-timeouts.ts); the defaults suit production. */
  timeouts?: HttpTimeouts;
};

export type RunningServer = {
  url: string;
  /** The HTTP API itself, for in-process requests and for listing its routes. */
  app: Hono;
  /** False in development mode (no API keys: every request is the local developer). */
  authenticated: boolean;
  agents: AgentCatalog;
  /** Per agent, which model it uses, said plainly. */
  modelLabels: ReadonlyMap<string, string>;
  worker: Worker;
  governor: KeelGovernor;
  /**
   * Drain and stop: no new claims, runs finish the step they are in (for up to `graceMs`, default 0) and their
   * leases are released so another worker resumes them at once; then the HTTP server closes.
   */
  close(options?: StopOptions): Promise<void>;
};

/**
 * The `keel serve` composition: Keel assembled by `createKeel` (agents, an in-process worker, the HTTP API on one
 * store), listening on a port. Authentication is decided first (control-plane-config.ts): without API keys it
 * refuses any address but loopback. When a step fails (a port in use, a bad setting), everything started before it
 * is stopped before the error is thrown.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { serverOptions, bodyReadTimeoutMs } = resolveHttpTimeouts(options.timeouts);
  let bound: BoundAddress | null = null;
  const keel = await createKeel({
    store: options.store,
    agents: options.packages,
    env: options.env,
    ...(options.log ? { log: options.log } : {}),
    api: {
      host: options.host,
      address: () => bound,
      ...(options.allowedOrigins ? { allowedOrigins: options.allowedOrigins } : {}),
      bodyReadTimeoutMs,
    },
    worker: {
      owner: `${hostname()}:${process.pid}:serve`,
      ...(options.leaseTtlMs === undefined ? {} : { leaseTtlMs: options.leaseTtlMs }),
    },
    ...(options.secretKeyFile ? { secretKeyFile: options.secretKeyFile } : {}),
  });
  let server: ServerType;
  try {
    server = await new Promise<ServerType>((resolve, reject) => {
      const created = serve(
        { fetch: keel.fetch, hostname: options.host, port: options.port, serverOptions },
        () => resolve(created),
      );
      created.once("error", reject);
    });
  } catch (error) {
    await keel.close().catch(() => undefined);
    throw error;
  }
  const listening = server.address();
  bound = {
    host: options.host,
    port: typeof listening === "object" && listening ? listening.port : options.port,
  };
  return {
    url: `http://${options.host}:${bound.port}`,
    app: keel.app!,
    authenticated: keel.authenticated,
    agents: keel.agents,
    modelLabels: keel.modelLabels,
    worker: keel.worker,
    governor: keel.governor,
    async close(closeOptions = {}) {
      // The API keeps answering while runs drain (/readyz says it is shutting down), so clients can follow them.
      await keel.drain(closeOptions);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ("closeAllConnections" in server) server.closeAllConnections();
      });
      await keel.close(closeOptions);
    },
  };
}
