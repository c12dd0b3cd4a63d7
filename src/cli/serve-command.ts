import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { KeelError } from "../errors/keel-error.ts";
import type { AgentPackage } from "../runtime/agent-package.ts";
import { startServer } from "../server/start-server.ts";
import { openStore } from "../store/open-store.ts";
import type { CliIo } from "./cli-io.ts";
import { lockDataDir } from "./data-dir-lock.ts";

/** The module that lists the agent packages served by default: the bundled examples. */
export const DEFAULT_PACKAGES_MODULE = new URL("../../examples/index.ts", import.meta.url).pathname;

/** Import a module exporting `agentPackages: AgentPackage[]`. */
export async function importAgentPackages(modulePath: string): Promise<AgentPackage[]> {
  const loaded = (await import(pathToFileURL(resolve(modulePath)).href)) as { agentPackages?: unknown };
  if (!Array.isArray(loaded.agentPackages)) {
    throw new KeelError("invalid_request", `${modulePath} does not export an \`agentPackages\` array`);
  }
  return loaded.agentPackages as AgentPackage[];
}

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
  /** How long SIGTERM/SIGINT lets runs finish the step they are in before their leases are released anyway. */
  graceMs?: number;
}): Promise<number> {
  const { io } = options;
  const databaseUrl = io.env.DATABASE_URL;
  const release = databaseUrl ? () => undefined : lockDataDir(options.dataDir);
  const store = await openStore(
    databaseUrl ? { databaseUrl } : { dataDir: resolve(options.dataDir, "pgdata") },
  );
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    const packages = await importAgentPackages(options.packagesModule);
    server = await startServer({
      store,
      packages,
      env: io.env,
      host: options.host,
      port: options.port,
      log: io.err,
      ...(databaseUrl ? {} : { secretKeyFile: resolve(options.dataDir, "secret.key") }),
    });
  } catch (error) {
    await store.close();
    release();
    throw error;
  }
  const where = databaseUrl
    ? `PostgreSQL (${redactUrl(databaseUrl)})`
    : `embedded PGlite in ${resolve(options.dataDir)}`;
  io.out(`Keel is running at ${server.url}`);
  io.out(`store: ${where}`);
  io.out("agents:");
  for (const agent of server.agents.list()) {
    io.out(`  ${agent.name}@${agent.version}  tools: ${[...agent.tools.keys()].join(", ")}`);
    io.out(`    model: ${server.modelLabels.get(agent.name)}`);
  }
  io.out(`try:   npx keel run support-triage "Where is my order 1042?"`);
  io.out("stop:  Ctrl-C");
  await stopSignal();
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  io.out(
    `stopping: letting active runs finish their step (up to ${graceMs / 1000} s), then releasing their leases…`,
  );
  await server.close({ graceMs });
  await store.close();
  release();
  return 0;
}

/** How long a stopping process lets runs finish the step they are in, unless `--grace-period` says otherwise. */
export const DEFAULT_GRACE_MS = 10_000;

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

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparseable URL)";
  }
}
