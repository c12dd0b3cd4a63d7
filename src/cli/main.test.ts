import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { captureIo } from "../../test/support/capture-io.ts";
import { main } from "./main.ts";

const entry = new URL("./main.ts", import.meta.url).pathname;

describe("the keel command", () => {
  let server: ChildProcess;
  let url: string;
  let dataDir: string;
  const banner: string[] = [];

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "keel-cli-"));
    server = spawn(process.execPath, [entry, "serve", "--port", "0", "--data-dir", dataDir], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, DATABASE_URL: "" },
    });
    for await (const line of createInterface({ input: server.stdout! })) {
      banner.push(line);
      const match = /^Keel is running at (\S+)/.exec(line);
      if (match) url = match[1]!;
      if (line.startsWith("stop:")) break;
    }
  });

  after(async () => {
    const exited = new Promise((resolve) => server.once("exit", resolve));
    server.kill("SIGTERM");
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("serve prints the URL, the store, each agent and its model, marking offline stand-ins", () => {
    const text = banner.join("\n");
    assert.match(text, /Keel is running at http:\/\/127\.0\.0\.1:\d+/);
    assert.match(text, /store: embedded PGlite/);
    assert.match(text, /support-triage@1\.0\.0/);
    assert.match(text, /model: rules — offline stand-in for anthropic\/claude-sonnet-4-5-20250929/);
  });

  test("run streams the steps and the answer and exits 0", async () => {
    const io = captureIo();
    const code = await main(["run", "support-triage", "Where is my order 1042?", "--url", url], io);
    assert.equal(code, 0, io.stderr.join("\n"));
    const text = io.stdout.join("\n");
    assert.match(text, /offline stand-in/);
    assert.match(text, /step 1 {2}model .* → call get_order/);
    assert.match(text, /step 1 {2}tool {2}get_order ✔/);
    assert.match(text, /✔ completed after 2 steps/);
    assert.match(text, /1ZLH42A80312104284/);
  });

  test("run --json prints the final run as JSON", async () => {
    const io = captureIo();
    assert.equal(
      await main(["run", "support-triage", "how long does a refund take?", "--json", "--url", url], io),
      0,
    );
    const run = JSON.parse(io.stdout.join("\n")) as { status: string; answer: string };
    assert.equal(run.status, "completed");
    assert.ok(run.answer.length > 0);
  });

  test("runs list, runs show and journal verify read what the server holds", async () => {
    const listed = captureIo();
    assert.equal(await main(["runs", "list", "--json", "--url", url], listed), 0);
    const runs = JSON.parse(listed.stdout.join("\n")) as { id: string }[];
    assert.ok(runs.length >= 2);
    const shown = captureIo();
    assert.equal(await main(["runs", "show", runs[0]!.id, "--url", url], shown), 0);
    assert.match(shown.stdout.join("\n"), /status {3}completed/);
    const verified = captureIo();
    assert.equal(await main(["journal", "verify", runs[0]!.id, "--url", url], verified), 0);
    assert.match(verified.stdout.join("\n"), /chain intact/);
  });

  test("runs list pages with the command it prints for the next page, to the last", async () => {
    const whole = captureIo();
    assert.equal(await main(["runs", "list", "--json", "--url", url], whole), 0);
    const all = (JSON.parse(whole.stdout.join("\n")) as { id: string }[]).map((run) => run.id);
    assert.ok(all.length >= 2);
    const paged: string[] = [];
    let args = ["runs", "list", "--limit", "1"];
    for (;;) {
      const page = captureIo();
      assert.equal(await main([...args, "--url", url], page), 0, page.stderr.join("\n"));
      paged.push(...page.stdout.map((line) => line.split(" ")[0]!));
      const next = /^more runs: keel (.+)$/.exec(page.stderr.join("\n"));
      if (!next) break;
      args = next[1]!.split(" ");
    }
    assert.deepEqual(paged, all);
    const malformed = captureIo();
    assert.equal(await main(["runs", "list", "--cursor", "nonsense", "--url", url], malformed), 2);
    assert.match(malformed.stderr.join("\n"), /cursor/);
  });

  test("names an unknown agent and exits 1", async () => {
    const io = captureIo();
    assert.equal(await main(["run", "nobody", "hi", "--url", url], io), 1);
    assert.match(io.stderr.join("\n"), /no agent named "nobody"/);
  });

  test("a second server on a taken port says so in one line and exits 1 within seconds, its store closed", async () => {
    const port = new URL(url).port;
    const otherDir = mkdtempSync(join(tmpdir(), "keel-cli-"));
    try {
      const second = spawn(process.execPath, [entry, "serve", "--port", port, "--data-dir", otherDir], {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, DATABASE_URL: "" },
      });
      let stdout = "";
      let stderr = "";
      second.stdout!.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      second.stderr!.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const exited = new Promise<number | null>((resolve) => second.once("exit", (code) => resolve(code)));
      const code = await Promise.race([exited, sleep(20_000, "still running" as const, { ref: false })]);
      if (code === "still running") second.kill("SIGKILL");
      assert.equal(code, 1, stderr);
      assert.deepEqual(stderr.trim().split("\n"), [
        `keel: port ${port} on 127.0.0.1 is already in use: stop the process that holds it, or choose another port with --port (or KEEL_PORT)`,
      ]);
      assert.equal(stdout, "");
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }
  });

  test("a second server on the same data directory refuses to start", async () => {
    const io = captureIo();
    const code = await main(["serve", "--port", "0", "--data-dir", dataDir], io);
    assert.equal(code, 1);
    assert.match(io.stderr.join("\n"), /is in use by process \d+/);
  });
});

describe("the keel command without a server", () => {
  test("says the server cannot be reached and how to start it", async () => {
    const io = captureIo();
    assert.equal(await main(["runs", "list", "--url", "http://127.0.0.1:9"], io), 1);
    assert.match(io.stderr.join("\n"), /cannot reach the Keel server at http:\/\/127\.0\.0\.1:9 .*npm start/);
  });

  test("answers unknown commands, missing arguments and bad flags with usage and exit 2", async () => {
    for (const argv of [
      ["frobnicate"],
      ["run"],
      ["run", "support-triage"],
      ["runs", "show"],
      ["serve", "--port", "http"],
      ["serve", "--allow-origin", "localhost:5173"],
      ["--bogus"],
    ]) {
      const io = captureIo();
      assert.equal(await main(argv, io), 2, argv.join(" "));
      assert.ok(io.stderr.join("\n").length > 0);
    }
  });

  test("serve names a packages module that cannot be loaded, in one line, before it touches the data directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "keel-cli-"));
    try {
      const missing = join(dir, "no-such-packages.ts");
      const dataDir = join(dir, "data");
      const io = captureIo();
      assert.equal(await main(["serve", "--port", "0", "--data-dir", dataDir, "--packages", missing], io), 1);
      assert.deepEqual(io.stderr, [
        `keel: cannot load the agent packages module ${missing} (keel.config.ts, --packages or KEEL_PACKAGES): no such file`,
      ]);
      assert.equal(existsSync(dataDir), false);
      const importer = join(dir, "packages.ts");
      writeFileSync(importer, 'export { agentPackages } from "./elsewhere/index.ts";\n');
      const broken = captureIo();
      assert.equal(await main(["worker", "--packages", importer], captureIo({ DATABASE_URL: "x" })), 1);
      assert.equal(
        await main(["serve", "--port", "0", "--data-dir", dataDir, "--packages", importer], broken),
        1,
      );
      assert.match(
        broken.stderr.join("\n"),
        new RegExp(
          `^keel: cannot load the agent packages module ${importer} .*: Cannot find module '${join(dir, "elsewhere", "index.ts")}' imported from ${importer}$`,
        ),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a malformed or unreachable DATABASE_URL is one line naming it and the host, never the password", async () => {
    for (const argv of [
      ["serve", "--port", "0"],
      ["worker"],
      ["audit", "verify"],
      ["keys", "list"],
      ["eval", "support-triage"],
    ]) {
      const malformed = captureIo({ DATABASE_URL: "not a url" });
      assert.equal(await main(argv, malformed), 2, argv.join(" "));
      assert.deepEqual(malformed.stderr, [
        "keel: DATABASE_URL is not a PostgreSQL URL: expected postgres://user:password@host:5432/database",
      ]);
      const down = captureIo({ DATABASE_URL: "postgres://keel:s3cr%2Fet@127.0.0.1:1/keel" });
      assert.equal(await main(argv, down), 1, argv.join(" "));
      assert.deepEqual(down.stderr, [
        "keel: cannot connect to the PostgreSQL in DATABASE_URL (postgres://keel:***@127.0.0.1:1/keel) at 127.0.0.1:1: connection refused (is PostgreSQL running there?)",
      ]);
      assert.ok(!down.stderr.join("").includes("s3cr"));
    }
  });

  test("spec validate fails a spec naming a tool its package does not provide, at that entry's line", async () => {
    const dir = mkdtempSync(join(tmpdir(), "keel-spec-"));
    try {
      writeFileSync(join(dir, "prompt.md"), "Look things up.");
      const file = join(dir, "agent.yaml");
      writeFileSync(
        file,
        [
          "apiVersion: keel/v1",
          "kind: Agent",
          "name: looker",
          "version: 1.0.0",
          "description: Looks things up.",
          "owner: { team: qa }",
          "riskTier: 1",
          "prompt: ./prompt.md",
          "model: { provider: rules, id: rules }",
          "tools:",
          "  - lookup",
          "  - wire_money",
        ].join("\n"),
      );
      const packages = join(dir, "index.ts");
      writeFileSync(
        packages,
        `import { z } from ${JSON.stringify(import.meta.resolve("zod"))};
import { defineTool } from ${JSON.stringify(new URL("../tools/tool.ts", import.meta.url).href)};
export const agentPackages = [{
  name: "looker",
  specFile: ${JSON.stringify(file)},
  createTools: () => [defineTool({
    name: "lookup",
    description: "Look something up.",
    input: z.object({ query: z.string() }),
    async execute() { return {}; },
  })],
}];
`,
      );
      const expected = `${file}:12:5 tools[1]: the agent's package provides no tool "wire_money" (it provides: lookup)`;
      const io = captureIo();
      assert.equal(await main(["spec", "validate", file, "--packages", packages], io), 1);
      assert.ok(io.stderr.join("\n").includes(expected), io.stderr.join("\n"));
      const policy = captureIo();
      assert.equal(await main(["policy", "validate", "--packages", packages], policy), 1);
      assert.ok(policy.stderr.join("\n").includes(expected), policy.stderr.join("\n"));
      const unchecked = captureIo();
      assert.equal(await main(["spec", "validate", file], unchecked), 0);
      assert.match(
        unchecked.stdout.join("\n"),
        /its tools were not checked: no agent package in .* serves this file/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("spec validate reports each issue with file, line, column and field path", async () => {
    const dir = mkdtempSync(join(tmpdir(), "keel-spec-"));
    try {
      writeFileSync(join(dir, "prompt.md"), "Be helpful.");
      const file = join(dir, "agent.yaml");
      writeFileSync(
        file,
        [
          "apiVersion: keel/v1",
          "kind: Agent",
          "name: broken",
          "version: 1.0.0",
          "description: A broken agent.",
          "owner: { team: qa }",
          "riskTier: 7",
          "prompt: ./prompt.md",
          "model: { provider: rules, id: rules, params: { temperature: hot } }",
          "limits: { runTimeout: soon }",
        ].join("\n"),
      );
      const io = captureIo();
      assert.equal(await main(["spec", "validate", file], io), 1);
      const text = io.stderr.join("\n");
      assert.match(text, new RegExp(`${file}:7:11 riskTier: `));
      assert.match(text, new RegExp(`${file}:9:.* model\\.params\\.temperature: `));
      assert.match(text, new RegExp(`${file}:10:.* limits\\.runTimeout: expected a duration`));
      const good = captureIo();
      assert.equal(
        await main(
          ["spec", "validate", new URL("../../examples/support-triage/agent.yaml", import.meta.url).pathname],
          good,
        ),
        0,
      );
      assert.match(good.stdout.join("\n"), /support-triage@1\.0\.0 sha256:[0-9a-f]{64}/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("spec validate loads a workflow file and reports its issues with file, line, column and field path", async () => {
    const good = captureIo();
    const workflow = new URL("../spec/__fixtures__/invoice-approval/workflow.yaml", import.meta.url).pathname;
    assert.equal(await main(["spec", "validate", workflow], good), 0, good.stderr.join("\n"));
    assert.match(
      good.stdout.join("\n"),
      /workflow invoice-approval@1\.0\.0 sha256:[0-9a-f]{64} \(10 nodes\)/,
    );

    const dir = mkdtempSync(join(tmpdir(), "keel-spec-"));
    try {
      const file = join(dir, "workflow.yaml");
      writeFileSync(
        file,
        [
          "apiVersion: keel/v1",
          "kind: Workflow",
          "name: broken-flow",
          "version: 1.0.0",
          "description: A broken workflow.",
          "owner: { team: qa }",
          "riskTier: 2",
          "state: { total: { type: number } }",
          "start: look",
          "nodes:",
          "  look:",
          // biome-ignore lint/suspicious/noTemplateCurlyInString: a workflow template is the text under test
          '    tool: { name: lookup, args: { id: "${state.orderId}" } }',
          "    writes: total",
          "    next: finish",
          "  done:",
          "    end: {}",
        ].join("\n"),
      );
      const io = captureIo();
      assert.equal(await main(["spec", "validate", file], io), 1);
      assert.equal(
        io.stderr.join("\n"),
        [
          `✖ ${file}`,
          "invalid spec (3 issues):",
          `  ${file}:12:39 nodes.look.tool.args.id: reads state.orderId, which is not declared in state`,
          `  ${file}:14:11 nodes.look.next: no node is named "finish" (nodes: look, done)`,
          `  ${file}:15:3 nodes.done: node "done" is never reached from start (look)`,
        ].join("\n"),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
