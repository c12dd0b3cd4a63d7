import {
  chmodSync,
  copyFileSync,
  linkSync,
  lstatSync,
  mkdirSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const reachable = new Map<string, string>();

/**
 * The Node.js binary at `path` as the sandbox's unprivileged user can open it (asked only when Keel runs as root:
 * otherwise bwrap runs as Keel's own user, who runs that binary already). When Keel runs as root the sandbox
 * starts as nobody, and bwrap, already nobody, must reach the file it binds: a binary under a folder closed to
 * others (a checkout in a `mktemp -d` folder, Node installed under /root) cannot be bound. Such a binary is
 * hard-linked — or, on another file system, copied — once into a folder of the system's temporary directory that
 * only Keel's user may write and everyone may enter, and that path is bound instead.
 */
export function sandboxNodeBinary(path: string): string {
  let visible = reachable.get(path);
  if (visible === undefined) {
    visible = openToOthers(path) ? path : linkedCopy(path);
    reachable.set(path, visible);
  }
  return visible;
}

/** Whether a user with no relation to the file may run it: every folder above it lets others through. */
function openToOthers(path: string): boolean {
  if ((statSync(path).mode & 0o005) !== 0o005) return false;
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return false;
    if (dir === dirname(dir)) return true;
  }
}

function linkedCopy(path: string): string {
  const source = statSync(path);
  const owner = process.getuid?.() ?? 0;
  const dir = join(tmpdir(), `keel-sandbox-node-${owner}-${source.dev}-${source.ino}-${source.size}`);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const folder = lstatSync(dir);
  // Another user could have made this folder first (the temporary directory is everyone's): use only our own.
  if (!folder.isDirectory() || folder.uid !== owner || (folder.mode & 0o022) !== 0)
    throw new Error(`${dir} is not a folder only Keel's user may write: remove it`);
  chmodSync(dir, 0o755);
  const target = join(dir, "node");
  try {
    const existing = lstatSync(target);
    if (
      existing.isFile() &&
      existing.size === source.size &&
      (existing.mode & 0o022) === 0 &&
      existing.uid === source.uid
    )
      return target;
    rmSync(target, { force: true });
  } catch {
    // Not there yet.
  }
  const partial = `${target}.${process.pid}`;
  // A link shares the file's mode, which is left alone: only a binary others may already run is linked.
  let linked = false;
  if ((source.mode & 0o005) === 0o005) {
    try {
      linkSync(path, partial);
      linked = true;
    } catch {
      // Another file system: copied below.
    }
  }
  if (!linked) {
    copyFileSync(path, partial);
    chmodSync(partial, 0o755);
  }
  renameSync(partial, target);
  return target;
}
