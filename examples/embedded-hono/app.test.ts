import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { test } from "node:test";

const entry = new URL("./app.ts", import.meta.url).pathname;

test("an existing Hono application runs an agent in-process and serves Keel's API under its own prefix", async () => {
  const child = spawn(process.execPath, [entry], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, PORT: "0", ANTHROPIC_API_KEY: "", DATABASE_URL: "" },
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  try {
    let url = "";
    for await (const line of createInterface({ input: child.stdout! })) {
      const match = /is running at (\S+) /.exec(line);
      if (match) {
        url = match[1]!;
        break;
      }
    }
    assert.ok(url, "the application printed its address");
    child.stdout!.resume();
    assert.equal(await (await fetch(`${url}/`)).text(), "Larkspur Home: the shop's own application");
    const started = await fetch(`${url}/keel/v1/agents/support-triage/runs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ input: "Where is my order 1042?" }),
    });
    assert.equal(started.status, 202);
    const { id } = (await started.json()) as { id: string };
    let run: { status: string; answer?: string } = { status: "queued" };
    for (let attempt = 0; attempt < 100 && !["completed", "failed"].includes(run.status); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      run = (await (await fetch(`${url}/keel/v1/runs/${id}`)).json()) as typeof run;
    }
    assert.equal(run.status, "completed");
    assert.match(run.answer ?? "", /order 1042 shipped/);
  } finally {
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
  }
});
