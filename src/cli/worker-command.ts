import { hostname } from "node:os";
import { KeelError } from "../errors/index.ts";
import { createKeel } from "../server/index.ts";
import { openStore } from "../store/index.ts";
import { importAgentPackages } from "./agent-packages.ts";
import type { CliIo } from "./cli-io.ts";
import { DEFAULT_GRACE_MS } from "./grace-period.ts";
import { checkDatabaseUrl } from "./open-cli-store.ts";
import { stopSignal } from "./serve-command.ts";

/**
 * `keel worker`: interpret runs from a shared PostgreSQL without serving HTTP. Any number of workers and
 * `keel serve` processes may share one database; leases keep each run to one writer.
 */
export async function workerCommand(options: {
  io: CliIo;
  packagesModule: string;
  concurrency: number;
  /** How long a claimed run stays this worker's without renewal; a dead worker's runs move on after it. */
  leaseTtlMs?: number;
  /** How long SIGTERM/SIGINT lets runs finish the step they are in before their leases are released anyway. */
  graceMs?: number;
}): Promise<number> {
  const { io } = options;
  const databaseUrl = io.env.DATABASE_URL;
  if (!databaseUrl) {
    throw new KeelError(
      "invalid_request",
      "keel worker needs DATABASE_URL (a PostgreSQL shared with keel serve); the embedded store serves one process only",
    );
  }
  const packages = await importAgentPackages(options.packagesModule);
  await checkDatabaseUrl(databaseUrl);
  const store = await openStore({ databaseUrl });
  try {
    const keel = await createKeel({
      store,
      agents: packages,
      env: io.env,
      log: io.err,
      api: false,
      worker: {
        owner: `${hostname()}:${process.pid}:worker`,
        concurrency: options.concurrency,
        ...(options.leaseTtlMs === undefined ? {} : { leaseTtlMs: options.leaseTtlMs }),
      },
    });
    io.out(`Keel worker ${keel.worker.owner} is claiming runs (concurrency ${options.concurrency})`);
    for (const agent of keel.agents.list())
      io.out(`  ${agent.name}@${agent.version}  model: ${keel.modelLabels.get(agent.name)}`);
    await stopSignal();
    const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
    io.out(
      `stopping: letting active runs finish their step (up to ${graceMs / 1000} s), then releasing their leases…`,
    );
    await keel.close({ graceMs });
    return 0;
  } finally {
    await store.close();
  }
}
