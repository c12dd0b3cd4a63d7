import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, describe, test } from "node:test";
import { captureIo } from "../../test/support/capture-io.ts";
import { startServer } from "../server/start-server.ts";
import { openStore } from "../store/open-store.ts";
import { main } from "./main.ts";

const entry = new URL("./main.ts", import.meta.url).pathname;

/** Start `keel serve` on a data directory; resolves with its URL, or with no URL and its stderr if it ends first. */
async function serve(args: string[]): Promise<{ child: ChildProcess; url: string | null; stderr: string }> {
  const child = spawn(process.execPath, [entry, "serve", "--port", "0", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, DATABASE_URL: "", KEEL_API_KEY: "" },
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  let url: string | null = null;
  for await (const line of createInterface({ input: child.stdout! })) {
    const match = /^Keel is running at (\S+)/.exec(line);
    if (match) url = match[1]!;
    if (line.startsWith("stop:")) break;
  }
  return { child, url, stderr };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

describe("keel keys and the serve modes", () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "keel-keys-"));
    dirs.push(dir);
    return dir;
  };
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test("list and revoke refuse a data directory with no store rather than answering from a new, empty one", async () => {
    const missing = join(dataDir(), "no-such-data");
    for (const argv of [
      ["keys", "list", "--data-dir", missing],
      ["keys", "revoke", "key_1", "--data-dir", missing],
    ]) {
      const io = captureIo();
      assert.equal(await main(argv, io), 1, argv.join(" "));
      assert.match(
        io.stderr.join("\n"),
        /^keel: no Keel store in .*no-such-data \(.*pgdata does not exist\)/,
      );
      assert.equal(existsSync(missing), false);
    }
  });

  // In this process rather than its own: the refusal comes before anything listens, so `serve` returns with it.
  test("keel serve --host 0.0.0.0 without any key refuses to start and says how to fix it", async () => {
    const io = captureIo();
    const code = await main(["serve", "--host", "0.0.0.0", "--port", "0", "--data-dir", dataDir()], io);
    assert.equal(
      io.stdout.find((line) => line.startsWith("Keel is running")),
      undefined,
      "it must not listen",
    );
    assert.notEqual(code, 0);
    const stderr = io.stderr.join("\n");
    assert.match(stderr, /refusing to listen on 0\.0\.0\.0 without authentication/);
    assert.match(stderr, /keel keys create --tenant default --role admin/);
  });

  test("creates a key once, lists it without its secret, serves with it on 0.0.0.0, and revokes it", async () => {
    const dir = dataDir();
    const created = captureIo();
    assert.equal(
      await main(
        [
          "keys",
          "create",
          "--tenant",
          "default",
          "--role",
          "admin,approver:support-leads",
          "--name",
          "ops",
          "--data-dir",
          dir,
        ],
        created,
      ),
      0,
      created.stderr.join("\n"),
    );
    assert.deepEqual(created.stderr, [`note: there was no Keel store in ${dir}; created one for this key`]);
    const secret = created.stdout.find((line) => line.startsWith("keel_"))!;
    assert.match(secret, /^keel_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const listed = captureIo();
    assert.equal(await main(["keys", "list", "--data-dir", dir], listed), 0);
    assert.match(
      listed.stdout.join("\n"),
      /default {2}admin,approver:support-leads {2}ops {2}\(never used\)/,
    );
    assert.ok(!listed.stdout.join("\n").includes(secret.slice(22)));

    const { child, url, stderr } = await serve(["--host", "0.0.0.0", "--data-dir", dir]);
    try {
      assert.ok(url, stderr);
      assert.doesNotMatch(stderr, /DEVELOPMENT MODE/);
      const local = url!.replace("0.0.0.0", "127.0.0.1");
      const anonymous = captureIo();
      assert.equal(await main(["runs", "list", "--url", local], anonymous), 1);
      assert.match(anonymous.stderr.join("\n"), /send an API key as Authorization: Bearer/);
      const withEnv = captureIo({ KEEL_API_KEY: secret });
      assert.equal(await main(["runs", "list", "--url", local], withEnv), 0, withEnv.stderr.join("\n"));
      const file = join(dir, "key");
      writeFileSync(file, `${secret}\n`, { mode: 0o600 });
      const withFile = captureIo();
      assert.equal(await main(["kill-switches", "--url", local, "--api-key-file", file], withFile), 0);
    } finally {
      await stop(child);
    }
    assert.ok(!stderr.includes(secret.slice(22)), "the server never prints the key");

    const id = secret.slice(5, 21);
    const revoked = captureIo();
    assert.equal(await main(["keys", "revoke", id, "--data-dir", dir], revoked), 0);
    assert.match(revoked.stdout.join("\n"), new RegExp(`revoked key ${id}`));
    const again = captureIo();
    assert.equal(await main(["keys", "revoke", id, "--data-dir", dir], again), 1);
    const bad = captureIo();
    assert.equal(
      await main(["keys", "create", "--tenant", "default", "--role", "root", "--data-dir", dir], bad),
      2,
    );
    assert.match(bad.stderr.join("\n"), /roles: a key needs at least one of admin, deployer/);
  });

  test("runs in development mode on loopback without keys, saying so loudly", async () => {
    const store = await openStore({});
    const logs: string[] = [];
    try {
      const server = await startServer({
        store,
        packages: [],
        env: {},
        host: "127.0.0.1",
        port: 0,
        log: (line) => logs.push(line),
      });
      try {
        assert.equal(server.authenticated, false);
        assert.match(logs.join("\n"), /DEVELOPMENT MODE: no API keys exist, so nothing is authenticated/);
        assert.equal((await fetch(`${server.url}/v1/runs`)).status, 200);
      } finally {
        await server.close();
      }
      await assert.rejects(
        startServer({ store, packages: [], env: {}, host: "192.0.2.10", port: 0, log: () => undefined }),
        /refusing to listen on 192\.0\.2\.10 without authentication/,
      );
    } finally {
      await store.close();
    }
  });

  test("creates the bootstrap admin key from KEEL_BOOTSTRAP_ADMIN_KEY_FILE, or imports the one the file holds", async () => {
    const dir = dataDir();
    const file = join(dir, "admin-key");
    const store = await openStore({});
    try {
      const logs: string[] = [];
      const server = await startServer({
        store,
        packages: [],
        env: { KEEL_BOOTSTRAP_ADMIN_KEY_FILE: file },
        host: "0.0.0.0",
        port: 0,
        log: (line) => logs.push(line),
      });
      try {
        assert.equal(server.authenticated, true);
        const { readFileSync, statSync } = await import("node:fs");
        const token = readFileSync(file, "utf8").trim();
        assert.equal(statSync(file).mode & 0o777, 0o600);
        assert.ok(!logs.join("\n").includes(token.slice(22)));
        const url = server.url.replace("0.0.0.0", "127.0.0.1");
        const keys = await fetch(`${url}/v1/keys`, { headers: { authorization: `Bearer ${token}` } });
        assert.equal(keys.status, 200);
      } finally {
        await server.close();
      }
    } finally {
      await store.close();
    }
    const imported = await openStore({});
    try {
      const server = await startServer({
        store: imported,
        packages: [],
        env: { KEEL_BOOTSTRAP_ADMIN_KEY_FILE: file },
        host: "127.0.0.1",
        port: 0,
        log: () => undefined,
      });
      try {
        const { readFileSync } = await import("node:fs");
        const token = readFileSync(file, "utf8").trim();
        const ok = await fetch(`${server.url}/v1/keys`, { headers: { authorization: `Bearer ${token}` } });
        assert.equal(ok.status, 200, "the file's key was imported into the new store");
      } finally {
        await server.close();
      }
    } finally {
      await imported.close();
    }
  });
});
