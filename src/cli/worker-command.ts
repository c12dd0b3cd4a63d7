import { hostname } from "node:os";
import { createApprovalTimer } from "../approvals/expire-approvals.ts";
import { KeelError } from "../errors/keel-error.ts";
import { createWorker } from "../runtime/worker.ts";
import { createAgentGovernor } from "../server/agent-policies.ts";
import { startAuditCheckpointsFromEnv } from "../server/audit-checkpoints-config.ts";
import { sealingFromEnv } from "../server/sealing-config.ts";
import { loadAgentPackages } from "../server/start-server.ts";
import { openStore } from "../store/open-store.ts";
import { importAgentPackages } from "./agent-packages.ts";
import type { CliIo } from "./cli-io.ts";
import { checkDatabaseUrl } from "./open-cli-store.ts";
import { DEFAULT_GRACE_MS, stopSignal } from "./serve-command.ts";

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
  // What has started, stopped in reverse if a later step fails, so nothing polls the store after it is closed.
  const started: (() => unknown)[] = [];
  try {
    const { agents, modelLabels, governed } = await loadAgentPackages({ store, packages, env: io.env });
    const governor = await createAgentGovernor({ store, agents: governed, log: io.err });
    started.push(() => governor.close());
    const sealing = await sealingFromEnv({ sql: store.sql, env: io.env, log: io.err });
    const worker = createWorker({
      store,
      agents: agents.lookup,
      governor,
      ...(sealing ? { sealing } : {}),
      owner: `${hostname()}:${process.pid}:worker`,
      concurrency: options.concurrency,
      ...(options.leaseTtlMs === undefined ? {} : { leaseTtlMs: options.leaseTtlMs }),
      log: io.err,
    });
    worker.start();
    started.push(() => worker.stop());
    // Any number of processes may run the SLA timer: each expiry is journaled under the run's lease.
    const approvalTimer = createApprovalTimer({ store, log: io.err });
    approvalTimer.start();
    started.push(() => approvalTimer.stop());
    const auditCheckpoints = await startAuditCheckpointsFromEnv({ sql: store.sql, env: io.env, log: io.err });
    io.out(`Keel worker ${worker.owner} is claiming runs (concurrency ${options.concurrency})`);
    for (const agent of agents.list())
      io.out(`  ${agent.name}@${agent.version}  model: ${modelLabels.get(agent.name)}`);
    await stopSignal();
    const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
    io.out(
      `stopping: letting active runs finish their step (up to ${graceMs / 1000} s), then releasing their leases…`,
    );
    await approvalTimer.stop();
    await worker.stop({ graceMs });
    await auditCheckpoints.stop();
    governor.close();
    return 0;
  } catch (error) {
    for (const stop of started.reverse()) await stopQuietly(stop);
    throw error;
  } finally {
    await store.close();
  }
}

/** Stop one part of a start that failed; the error that stopped the start is the one reported. */
async function stopQuietly(stop: () => unknown): Promise<void> {
  try {
    await stop();
  } catch {
    // Already failing: a second error would hide the first.
  }
}
