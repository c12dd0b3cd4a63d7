import { readdirSync, readFileSync } from "node:fs";

/** What a process tree holds at one moment: resident memory and tasks (processes and their threads). */
export type ProcessTreeUsage = { rssBytes: number; tasks: number };

/**
 * Sum the resident memory and the tasks of every process below `root` (and of `root` itself with `includeRoot`),
 * read from /proc. The tree is followed through each thread's `children`, not through sessions or process groups,
 * so a process cannot leave it by calling setsid: an orphan is adopted by an ancestor inside the tree (in a
 * sandbox, its PID namespace's init). Processes that exit while being read are skipped.
 */
export function processTreeUsage(root: number, options: { includeRoot: boolean }): ProcessTreeUsage {
  const usage: ProcessTreeUsage = { rssBytes: 0, tasks: 0 };
  const seen = new Set<number>();
  const pending = [root];
  while (pending.length > 0) {
    const pid = pending.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    if (pid !== root || options.includeRoot) {
      const status = readProc(`/proc/${pid}/status`);
      if (status === null) continue;
      usage.rssBytes += Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0) * 1_024;
      usage.tasks += Number(/^Threads:\s+(\d+)$/m.exec(status)?.[1] ?? 1);
    }
    for (const task of readTasks(pid)) {
      const children = readProc(`/proc/${pid}/task/${task}/children`);
      if (children === null) continue;
      for (const child of children.trim().split(/\s+/)) if (child !== "") pending.push(Number(child));
    }
  }
  return usage;
}

function readProc(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null; // the process has exited
  }
}

function readTasks(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
}
