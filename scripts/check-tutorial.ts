/**
 * Run every command of docs/tutorial.md, in order, as a reader would: the `sh` blocks become one bash script run
 * from this checkout, with HOME in a temporary folder (so `~/agents` is a scratch project) and Node 24 first in
 * PATH. The tutorial's conventions are kept literally:
 *   - `cmd # keeps running`  starts cmd in its own process group and waits until it says it is ready;
 *   - `# Ctrl-C …`           stops everything started so far (SIGTERM), as Ctrl-C in their terminals would;
 *   - `cmd # exits N`        must exit N; every other command must exit 0.
 * One substitution, because a reader's database is not CI's: `export DATABASE_URL=…` is pointed at a throwaway
 * PostgreSQL started here. The API's port comes from KEEL_PORT/KEEL_URL, so a busy 7420 does not fail the check.
 *
 *   node scripts/check-tutorial.ts
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { homedir, tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { findPostgresBinaries, startTemporaryPostgres } from "../test/support/temporary-postgres.ts";

const repo = new URL("../", import.meta.url).pathname;
const tutorial = readFileSync(join(repo, "docs/tutorial.md"), "utf8");

/** The lines of the tutorial's `sh` blocks, in order, continuation lines joined. */
export function tutorialCommands(markdown: string): string[] {
  const commands: string[] = [];
  for (const block of markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)) {
    for (const line of block[1]!.replaceAll("\\\n", " ").split("\n")) {
      if (line.trim() !== "") commands.push(line.trim());
    }
  }
  return commands;
}

/** The bash script that runs the commands with the conventions above. */
function script(commands: readonly string[], databaseUrl: string): string {
  const lines = [`source ${JSON.stringify(join(repo, "scripts/check-tutorial-helpers.sh"))}`];
  let background = 0;
  for (const command of commands) {
    const quoted = `'${command.replaceAll("'", "'\\''")}'`;
    lines.push(`printf '\\n$ %s\\n' ${quoted}`);
    if (command.startsWith("# Ctrl-C")) {
      lines.push("stop_all");
      continue;
    }
    if (command.startsWith("#")) continue;
    const keepsRunning = /\s#\s*keeps running\s*$/.exec(command);
    const exits = /\s#\s*exits (\d+)\b/.exec(command);
    const bare = command.replace(/\s#.*$/, "");
    if (keepsRunning) {
      background += 1;
      lines.push(`start "$KEEL_CHECK_LOGS/background-${background}.log" '${bare.replaceAll("'", "'\\''")}'`);
      continue;
    }
    const run = bare.startsWith("export DATABASE_URL=") ? `export DATABASE_URL=${databaseUrl}` : bare;
    lines.push(run, `check $? ${exits ? exits[1] : 0} ${quoted}`);
  }
  lines.push("stop_all", "echo", "echo 'tutorial: every command ran as written'");
  return `${lines.join("\n")}\n`;
}

async function freePort(): Promise<number> {
  return await new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

if (import.meta.main) {
  if (!findPostgresBinaries()) {
    console.error(
      "check-tutorial: the tutorial's last part needs PostgreSQL installed (apt-get install postgresql)",
    );
    process.exit(1);
  }
  const home = mkdtempSync(join(tmpdir(), "keel-tutorial-"));
  const postgres = await startTemporaryPostgres();
  const port = await freePort();
  const commands = tutorialCommands(tutorial);
  const file = join(home, "tutorial.sh");
  writeFileSync(file, script(commands, postgres.url));
  // Node 24 from this checkout first; no node_modules/.bin of the checkout, as in a reader's shell.
  const path = [
    join(repo, "node_modules/node/bin"),
    ...(process.env.PATH ?? "").split(delimiter).filter((entry) => !entry.includes("node_modules")),
  ].join(delimiter);
  const env: NodeJS.ProcessEnv = {
    PATH: path,
    HOME: home,
    // The reader's npm cache, so the install can be served from it (--prefer-offline is npm's default for a cache hit).
    npm_config_cache: process.env.npm_config_cache ?? join(homedir(), ".npm"),
    npm_config_prefer_offline: "true",
    npm_config_audit: "false",
    npm_config_fund: "false",
    KEEL_PORT: String(port),
    KEEL_URL: `http://127.0.0.1:${port}`,
    KEEL_CHECK_LOGS: home,
    ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
  };
  console.log(`check-tutorial: ${commands.length} lines of docs/tutorial.md, HOME=${home}`);
  const code = await new Promise<number>((resolve) => {
    const child = spawn("bash", [file], { cwd: repo, env, stdio: "inherit" });
    child.once("exit", (exitCode) => resolve(exitCode ?? 1));
  });
  await postgres.stop();
  rmSync(home, { recursive: true, force: true });
  process.exit(code);
}
