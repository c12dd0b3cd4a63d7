import { execFileSync } from "node:child_process";

/** The code being measured: the commit, and any files under src/ that differ from it. */
export function describeSource(): { commit: string; uncommitted: string[] } {
  // Only trailing whitespace is trimmed: porcelain lines start with a status column that may be a space.
  const git = (args: string[]) => execFileSync("git", args, { encoding: "utf8" }).trimEnd();
  try {
    const uncommitted = git(["status", "--porcelain", "--", "src"])
      .split("\n")
      .filter((line) => line.length > 0)
      .map((line) => line.slice(3));
    return { commit: git(["rev-parse", "--short", "HEAD"]), uncommitted };
  } catch {
    return { commit: "unknown (not a git checkout)", uncommitted: [] };
  }
}
