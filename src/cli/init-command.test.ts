import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { parse } from "yaml";
import { agentPackagesModule, DEFAULT_PACKAGES_MODULE, importAgentPackages } from "./agent-packages.ts";
import { main } from "./main.ts";

const run = promisify(execFile);
/** No model key, no shared database, no packages module: what a new project sees. */
const OFFLINE = { ANTHROPIC_API_KEY: "", DATABASE_URL: "", KEEL_PACKAGES: "", KEEL_URL: "" };
const checkout = new URL("../../", import.meta.url).pathname;
const launcher = join(checkout, "bin/keel.js");

/** Run `keel` in `cwd` as its own process. `keel` resolves to this checkout's sources (the keel-source condition). */
async function keel(
  cwd: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["--conditions=keel-source", launcher, ...args], {
      cwd,
      env: { ...process.env, ...OFFLINE },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** A folder outside the checkout whose node_modules/keel is this checkout, as `npm install keel` would give. */
function projectParent(): string {
  const parent = mkdtempSync(join(tmpdir(), "keel-init-"));
  mkdirSync(join(parent, "node_modules"));
  symlinkSync(checkout, join(parent, "node_modules", "keel"));
  return parent;
}

function quietIo(errors: string[] = []) {
  return { out: () => undefined, err: (text: string) => errors.push(text), env: {}, isTty: false };
}

describe("keel init", () => {
  test("writes a project named after its folder, whose schema comments point at schemas shipped in the package", async () => {
    const parent = projectParent();
    const dir = join(parent, "helpdesk");
    assert.equal(await main(["init", dir], quietIo()), 0);
    const spec = readFileSync(join(dir, "agents/helpdesk/agent.yaml"), "utf8");
    assert.equal((parse(spec) as { name: string }).name, "helpdesk");
    const schema = /^# yaml-language-server: \$schema=(\S+)$/m.exec(spec)?.[1];
    assert.ok(schema, "agent.yaml starts with a schema comment");
    assert.ok(existsSync(resolve(join(dir, "agents/helpdesk"), schema)), `${schema} exists`);
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
      dependencies: Record<string, string>;
    };
    assert.equal(manifest.scripts.serve, "keel serve");
    assert.equal(manifest.scripts.eval, "keel eval helpdesk --gate");
    assert.ok(manifest.dependencies.keel);
    for (const tool of ["search-help.ts", "open-ticket.ts"]) {
      assert.match(readFileSync(join(dir, "agents/helpdesk/tools", tool), "utf8"), /from "keel"/);
    }
    assert.match(readFileSync(join(dir, "agents/helpdesk/tools/open-ticket.ts"), "utf8"), /reconcile/);
  });

  test("the new project validates, passes its policy tests and its eval gate offline, with no --packages", async () => {
    const parent = projectParent();
    assert.equal((await keel(parent, "init", "helpdesk")).code, 0);
    const dir = join(parent, "helpdesk");
    const validated = await keel(dir, "spec", "validate", "agents/helpdesk/agent.yaml");
    assert.equal(validated.code, 0, validated.stderr);
    const policies = await keel(dir, "policy", "test", "agents/helpdesk/policies/policy-tests.yaml");
    assert.equal(policies.code, 0, policies.stdout + policies.stderr);
    assert.match(policies.stdout, /4 passed, 0 failed/);
    const evaluated = await keel(dir, "eval", "helpdesk", "--gate");
    assert.equal(evaluated.code, 0, evaluated.stdout + evaluated.stderr);
    assert.match(evaluated.stdout, /gate: PASSED/);
  });

  test("keel serve in the new project serves its agent with no --packages, and keel run completes a run", async () => {
    const parent = projectParent();
    assert.equal((await keel(parent, "init", "helpdesk")).code, 0);
    const dir = join(parent, "helpdesk");
    const server = spawn(
      process.execPath,
      ["--conditions=keel-source", launcher, "serve", "--port", "0", "--data-dir", join(parent, "data")],
      { cwd: dir, stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...OFFLINE } },
    );
    const exited = new Promise<number | null>((resolve) => server.once("exit", (code) => resolve(code)));
    try {
      let url = "";
      for await (const line of createInterface({ input: server.stdout! })) {
        url ||= /^Keel is running at (\S+)/.exec(line)?.[1] ?? "";
        if (line.startsWith("stop:")) break;
      }
      assert.ok(url, "keel serve listened");
      server.stdout!.resume();
      const ran = await keel(dir, "run", "helpdesk", "How do I reset my password?", "--url", url);
      assert.equal(ran.code, 0, ran.stdout + ran.stderr);
      assert.match(ran.stdout, /Reset your password/);
    } finally {
      server.kill("SIGTERM");
      assert.equal(await exited, 0);
    }
  });

  test("refuses a folder that is not empty, and writes nothing into it", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "keel-init-")), "helpdesk");
    mkdirSync(dir);
    writeFileSync(join(dir, "notes.txt"), "mine");
    const errors: string[] = [];
    assert.equal(await main(["init", dir], quietIo(errors)), 2);
    assert.match(errors.join("\n"), /is not empty \(it has notes\.txt\)/);
    assert.deepEqual(readdirSync(dir), ["notes.txt"]);
  });

  test("refuses a folder whose name cannot name an agent", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "keel-init-")), "Help_Desk");
    const errors: string[] = [];
    assert.equal(await main(["init", dir], quietIo(errors)), 2);
    assert.match(errors.join("\n"), /"Help_Desk" names the agent/);
    assert.equal(existsSync(dir), false);
    assert.equal(existsSync(dirname(dir)), true);
  });

  test("a command loads --packages first, then KEEL_PACKAGES, then the keel.config.ts of the folder it runs in", () => {
    const project = mkdtempSync(join(tmpdir(), "keel-init-"));
    const elsewhere = mkdtempSync(join(tmpdir(), "keel-init-"));
    writeFileSync(join(project, "keel.config.ts"), "export default { agents: [] };\n");
    assert.equal(agentPackagesModule(undefined, {}, project), join(project, "keel.config.ts"));
    assert.equal(agentPackagesModule(undefined, { KEEL_PACKAGES: "env.ts" }, project), "env.ts");
    assert.equal(agentPackagesModule("flag.ts", { KEEL_PACKAGES: "env.ts" }, project), "flag.ts");
    // Outside a project, a Keel checkout serves its bundled examples.
    assert.equal(agentPackagesModule(undefined, { KEEL_PACKAGES: "" }, elsewhere), DEFAULT_PACKAGES_MODULE);
  });

  test("a keel.config.ts that is missing, or exports no agents, is named in one line", async () => {
    const outside = mkdtempSync(join(tmpdir(), "keel-init-"));
    const result = await keel(outside, "eval", "helpdesk", "--packages", join(outside, "keel.config.ts"));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot load the agent packages module .*keel\.config\.ts.*no such file/);
    writeFileSync(join(outside, "keel.config.ts"), "export default { agent: [] };\n");
    await assert.rejects(
      importAgentPackages(join(outside, "keel.config.ts")),
      /exports neither a default configuration with an `agents` array/,
    );
  });
});
