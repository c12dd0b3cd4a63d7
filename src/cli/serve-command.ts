import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { CONSOLE_DIST, startServer } from "../server/index.ts";
import { importAgentPackages } from "./agent-packages.ts";
import { checkPortFree, listenFailure } from "./check-port.ts";
import type { CliIo } from "./cli-io.ts";
import { DEFAULT_GRACE_MS } from "./grace-period.ts";
import { openCliStore } from "./open-cli-store.ts";

/**
 * `keel serve`: open the store (PGlite under the data directory, or PostgreSQL when DATABASE_URL is set),
 * load the agents, start a worker and the HTTP API, and run until SIGINT/SIGTERM.
 */
export async function serveCommand(options: {
  io: CliIo;
  host: string;
  port: number;
  dataDir: string;
  packagesModule: string;
  /** How long a claimed run stays this server's worker's without renewal (default 15 s). */
  leaseTtlMs?: number;
  /** Web origins besides the server's own that may send state-changing requests. */
  allowedOrigins?: readonly string[];
  /** How long SIGTERM/SIGINT lets runs finish the step they are in before their leases are released anyway. */
  graceMs?: number;
}): Promise<number> {
  const { io } = options;
  const databaseUrl = io.env.DATABASE_URL;
  // The quick checks first: a taken port or a missing packages module fails before the store is opened.
  await checkPortFree(options.host, options.port);
  const packages = await importAgentPackages(options.packagesModule);
  const opened = await openCliStore({ io, dataDir: options.dataDir, create: true });
  const { store } = opened;
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({
      store,
      packages,
      env: io.env,
      host: options.host,
      port: options.port,
      log: io.err,
      ...(options.leaseTtlMs === undefined ? {} : { leaseTtlMs: options.leaseTtlMs }),
      ...(databaseUrl ? {} : { secretKeyFile: resolve(options.dataDir, "secret.key") }),
      ...(options.allowedOrigins ? { allowedOrigins: options.allowedOrigins } : {}),
    });
  } catch (error) {
    // startServer stopped whatever it had started; nothing polls the store once it is closed.
    await opened.close();
    throw listenFailure(error, options.host, options.port) ?? error;
  }
  io.out(`Keel is running at ${server.url}`);
  io.out(`store: ${opened.where}`);
  io.out(
    consoleBuilt()
      ? `console: ${server.url}/`
      : "console: not built (run npm run build:console in the Keel checkout)",
  );
  io.out("agents:");
  for (const agent of server.agents.list()) {
    io.out(`  ${agent.name}@${agent.version}  tools: ${[...agent.tools.keys()].join(", ")}`);
    io.out(`    model: ${server.modelLabels.get(agent.name)}`);
  }
  const first = server.agents.list()[0];
  if (first) io.out(`try:   npx keel run ${first.name} "<a request>" --url ${server.url}`);
  io.out("stop:  Ctrl-C");
  await stopSignal();
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  io.out(
    `stopping: letting active runs finish their step (up to ${graceMs / 1000} s), then releasing their leases…`,
  );
  await server.close({ graceMs });
  await opened.close();
  return 0;
}

/** Whether the console's bundle is there to serve (the package ships it; a checkout builds it before npm start). */
function consoleBuilt(): boolean {
  return existsSync(new URL("index.html", CONSOLE_DIST));
}

/**
 * Resolve on the first SIGINT or SIGTERM. Both handlers go at once, so a second signal gets the default action and
 * ends the process without waiting out the drain (the leases it held then expire by themselves).
 */
export async function stopSignal(): Promise<void> {
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.removeListener("SIGINT", stop);
      process.removeListener("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}
