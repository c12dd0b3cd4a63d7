import assert from "node:assert/strict";
import { test } from "node:test";
import { supportTriage } from "../../examples/support-triage/index.ts";
import { startRun } from "../runtime/start-run.ts";
import { openStore } from "../store/open-store.ts";
import { createKeel } from "./create-keel.ts";

const OFFLINE = { ANTHROPIC_API_KEY: "" };

async function waitForEnd(read: () => Promise<{ status: string }>): Promise<{ status: string }> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const run = await read();
    if (["completed", "failed", "suspended", "cancelled"].includes(run.status)) return run;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("the run did not end within 10 s");
}

test("createKeel runs an agent in-process and answers the HTTP API through its fetch handler, with no port", async () => {
  const store = await openStore();
  const keel = await createKeel({ store, agents: [supportTriage], env: OFFLINE, log: () => undefined });
  try {
    const listed = await keel.fetch(new Request("http://127.0.0.1/v1/agents"));
    assert.equal(listed.status, 200);
    assert.match(await listed.text(), /support-triage/);
    const started = await keel.fetch(
      new Request("http://127.0.0.1/v1/agents/support-triage/runs", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ input: "Where is my order 1042?" }),
      }),
    );
    assert.equal(started.status, 202);
    const { id } = (await started.json()) as { id: string };
    const run = (await waitForEnd(
      async () =>
        (await (await keel.fetch(new Request(`http://127.0.0.1/v1/runs/${id}`))).json()) as {
          status: string;
        },
    )) as { status: string; answer: string };
    assert.equal(run.status, "completed");
    assert.match(run.answer, /order 1042 shipped/);
    const bad = await keel.fetch(
      new Request("http://127.0.0.1/v1/agents/support-triage/runs", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ input: 42 }),
      }),
    );
    assert.equal(bad.status, 400);
  } finally {
    await keel.close();
    await store.close();
  }
});

test("createKeel without its API still interprets runs, and its fetch handler says there is no API", async () => {
  const store = await openStore();
  const keel = await createKeel({
    store,
    agents: [supportTriage],
    env: OFFLINE,
    log: () => undefined,
    api: false,
    timers: false,
  });
  try {
    assert.equal(keel.app, null);
    const answered = await keel.fetch(new Request("http://127.0.0.1/v1/agents"));
    assert.equal(answered.status, 404);
    assert.match(await answered.text(), /without its HTTP API/);
    const { run } = await startRun({
      store,
      agent: keel.agents.current("support-triage")!,
      input: "track 1041",
      principal: { subject: "test", tenant: "default", roles: ["admin"] },
    });
    keel.worker.poke();
    const ended = await waitForEnd(async () => (await store.getRun(run.runId))!);
    assert.equal(ended.status, "completed");
  } finally {
    await keel.close();
    await store.close();
  }
});
