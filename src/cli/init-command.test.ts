import assert from "node:assert/strict";
import { execFile } from "node:child_process";
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
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { parse } from "yaml";
import { main } from "./main.ts";

const run = promisify(execFile);
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
      env: { ...process.env, ANTHROPIC_API_KEY: "", DATABASE_URL: "", KEEL_PACKAGES: "" },
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

  test("outside a project, a command that loads agents says how to make one", async () => {
    const outside = mkdtempSync(join(tmpdir(), "keel-init-"));
    const result = await keel(outside, "eval", "helpdesk", "--packages", join(outside, "keel.config.ts"));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot load the agent packages module .*keel\.config\.ts.*no such file/);
  });
});
