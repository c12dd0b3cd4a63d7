import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
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

  test("names an unknown agent and exits 1", async () => {
    const io = captureIo();
    assert.equal(await main(["run", "nobody", "hi", "--url", url], io), 1);
    assert.match(io.stderr.join("\n"), /no agent named "nobody"/);
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
});
