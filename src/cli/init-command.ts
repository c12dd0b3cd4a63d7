import { existsSync } from "node:fs";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { KeelError } from "../errors/index.ts";
import { KEEL_VERSION } from "../server/index.ts";
import type { CliIo } from "./cli-io.ts";
import { projectFiles } from "./init-templates.ts";

/** The package's root folder: two levels above this module, in the sources (src/cli) and in the build (dist/cli). */
const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));

const AGENT_NAME = /^[a-z][a-z0-9-]{1,62}$/;

/**
 * `keel init <dir>`: write a new agent project into `dir` (created if missing; refused unless empty), with one agent
 * named after the folder that runs offline out of the box. Writes nothing when it refuses.
 */
export async function initCommand(options: { io: CliIo; dir: string }): Promise<number> {
  const { io } = options;
  const root = resolve(options.dir);
  const name = basename(root);
  if (!AGENT_NAME.test(name)) {
    throw new KeelError(
      "invalid_request",
      `the folder's name "${name}" names the agent, so it must be 2 to 63 lowercase letters, digits and dashes, starting with a letter (for example: keel init helpdesk)`,
    );
  }
  if (existsSync(root)) {
    const entries = await readdir(root).catch((error: unknown) => {
      throw new KeelError("invalid_request", `${root} exists and is not a folder`, { cause: error });
    });
    if (entries.length > 0) {
      throw new KeelError(
        "invalid_request",
        `${root} is not empty (it has ${entries.slice(0, 3).join(", ")}${entries.length > 3 ? ", …" : ""}): keel init writes a new project into a new or empty folder`,
      );
    }
  }
  const agentDir = join(root, "agents", name);
  const schemas = relative(agentDir, join(PACKAGE_ROOT, "schemas")).split(sep).join("/");
  const files = projectFiles({ name, keelVersion: KEEL_VERSION, schemas });
  for (const [path, content] of files) {
    const file = join(root, path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, content, { flag: "wx" });
  }
  const shown = relative(process.cwd(), root) || ".";
  io.out(`created the agent project ${name} in ${root}:`);
  for (const path of files.keys()) io.out(`  ${path}`);
  io.out(`
next:
  cd ${shown}
  npx keel serve                                        # serves ${name}, offline (no model key needed)
  npx keel run ${name} "How do I reset my password?"   # in another terminal
  npx keel eval ${name} --gate`);
  return 0;
}
