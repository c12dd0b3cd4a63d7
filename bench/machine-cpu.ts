import { readdirSync, readFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg } from "node:os";

/** CPU counters at one moment, in milliseconds; null fields where this machine cannot tell (not Linux). */
export type CpuSnapshot = {
  at: number;
  /** CPU time all processes on the machine used (from /proc/stat). */
  machineMs: number | null;
  /** This process's CPU time. */
  processMs: number;
  /** The benchmark's own PostgreSQL server: its postmaster, its children, and children already gone. */
  serverMs: number | null;
};

/** How busy the machine was between two snapshots, and how much of that was not this benchmark. */
export type CpuShare = {
  /** Percent of all CPUs (100 = every core busy). */
  machinePercent: number | null;
  processPercent: number;
  serverPercent: number | null;
  /** Machine minus this process minus its server: other work on the machine, which skews every figure. */
  otherPercent: number | null;
};

const TICKS_PER_SECOND = 100;

/**
 * Snapshot CPU use. `serverPort` names the PostgreSQL server the benchmark started, so its CPU can be told
 * apart from other work on the machine (another PostgreSQL, a test run) that would make the figures unfair.
 */
export function snapshotCpu(serverPort: number | null): CpuSnapshot {
  const usage = process.cpuUsage();
  return {
    at: performance.now(),
    machineMs: machineCpuMs(),
    processMs: (usage.user + usage.system) / 1_000,
    serverMs: serverPort === null ? null : serverCpuMs(serverPort),
  };
}

export function cpuShare(before: CpuSnapshot, after: CpuSnapshot): CpuShare {
  const capacity = (after.at - before.at) * availableParallelism();
  const percent = (from: number | null, to: number | null) =>
    from === null || to === null ? null : ((to - from) / capacity) * 100;
  const machinePercent = percent(before.machineMs, after.machineMs);
  const processPercent = percent(before.processMs, after.processMs)!;
  const serverPercent = percent(before.serverMs, after.serverMs);
  return {
    machinePercent,
    processPercent,
    serverPercent,
    otherPercent:
      machinePercent === null ? null : Math.max(0, machinePercent - processPercent - (serverPercent ?? 0)),
  };
}

function machineCpuMs(): number | null {
  try {
    const [cpu] = readFileSync("/proc/stat", "utf8").split("\n");
    // user nice system idle iowait irq softirq steal: everything but idle and iowait is work.
    const fields = (cpu ?? "").trim().split(/\s+/).slice(1, 9).map(Number);
    const busy = fields.reduce((sum, value, index) => (index === 3 || index === 4 ? sum : sum + value), 0);
    return (busy * 1_000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

function serverCpuMs(port: number): number | null {
  try {
    const processes = readdirSync("/proc")
      .filter((name) => /^\d+$/.test(name))
      .flatMap((pid) => {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
          const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
          return [{ pid: Number(pid), stat, fields, cmdline: readFileSync(`/proc/${pid}/cmdline`, "utf8") }];
        } catch {
          return [];
        }
      });
    const postmaster = processes.find(
      (entry) =>
        entry.stat.includes("(postgres)") && entry.cmdline.split("\0").join(" ").includes(` -p ${port} `),
    );
    if (!postmaster) return null;
    // utime, stime, and for the postmaster cutime/cstime: backends that already exited and were reaped.
    const ticks = (fields: string[], withChildren: boolean) =>
      Number(fields[11]) + Number(fields[12]) + (withChildren ? Number(fields[13]) + Number(fields[14]) : 0);
    let total = ticks(postmaster.fields, true);
    for (const entry of processes) {
      if (Number(entry.fields[1]) === postmaster.pid) total += ticks(entry.fields, false);
    }
    return (total * 1_000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** The 1, 5 and 15 minute load averages, as printed. */
export const loadAverage = (): string =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(" ");

/** Print what a micro-benchmark runs on and how loaded the machine is; returns the snapshot to close it with. */
export function announceMachine(title: string): CpuSnapshot {
  console.log(
    `${title}: ${availableParallelism()} CPUs (${cpus()[0]?.model ?? "unknown"}), Node ${process.version}`,
  );
  console.log(`load average at start: ${loadAverage()} (1, 5, 15 min)`);
  return snapshotCpu(null);
}

/** Print how busy the machine was since `announceMachine`, and the load average at the end. */
export function reportMachineLoad(before: CpuSnapshot): void {
  const share = cpuShare(before, snapshotCpu(null));
  console.log(
    `\nmachine CPU during the run: ${share.machinePercent?.toFixed(0) ?? "?"}% of all cores, this process ${share.processPercent.toFixed(0)}%, other work ${share.otherPercent?.toFixed(0) ?? "?"}%`,
  );
  console.log(`load average at end: ${loadAverage()}`);
}
