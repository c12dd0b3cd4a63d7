import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createKeel, type Keel } from "../src/server/index.ts";
import { openStore, type SqlStore } from "../src/store/index.ts";
import { listenOnLoopback, writeVersionedAgent } from "./support/versioned-agent.ts";

type Run = { id: string; agentVersion: string; status: string; shadowOf: string | null };

describe("a shadow deployment over HTTP", () => {
  let store: SqlStore;
  let keel: Keel;
  let server: Awaited<ReturnType<typeof listenOnLoopback>>;
  let url: string;
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const runsOf = async () =>
    ((await call("GET", "/v1/runs?agent=helper&limit=100")).body.runs as Run[]) ?? [];

  before(async () => {
    store = await openStore({});
    keel = await createKeel({
      store,
      agents: [writeVersionedAgent({ answers: { stable: "hello", candidate: "hi" } })],
      env: {},
      log: () => undefined,
      timers: false,
    });
    server = await listenOnLoopback(keel.fetch);
    url = server.url;
  });
  after(async () => {
    await server?.close();
    await keel?.close();
    await store?.close();
  });

  test("each live run of stable starts one shadow of the candidate; the caller gets the live run; the report pairs them", async () => {
    const started = await call("POST", "/v1/agents/helper/rollout", { to: "1.1.0", strategy: "shadow" });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    assert.equal(started.body.candidatePercent, 0, "a shadow deployment gives the candidate no live traffic");

    const live: string[] = [];
    for (let index = 0; index < 3; index++) {
      const created = await call("POST", "/v1/agents/helper/runs", {
        input: `question ${index}`,
        idempotencyKey: `q-${index}`,
      });
      assert.equal(created.status, 202);
      assert.equal(created.body.agentVersion, "1.0.0", "the caller's run is the stable version's");
      live.push(created.body.id as string);
    }
    // Repeating a request (same idempotency key) returns the same live run and starts no second shadow.
    const repeated = await call("POST", "/v1/agents/helper/runs", {
      input: "question 0",
      idempotencyKey: "q-0",
    });
    assert.equal(repeated.status, 200);

    let runs: Run[] = [];
    for (let attempt = 0; attempt < 200; attempt++) {
      runs = await runsOf();
      if (runs.length >= 6 && runs.every((run) => run.status === "completed")) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const shadows = runs.filter((run) => run.shadowOf !== null);
    assert.equal(runs.length, 6, JSON.stringify(runs));
    assert.deepEqual(shadows.map((run) => run.shadowOf).sort(), [...live].sort(), "one shadow per live run");
    assert.ok(shadows.every((run) => run.agentVersion === "1.1.0" && run.status === "completed"));

    const report = await call("GET", "/v1/agents/helper/rollout/shadow-report?candidate=1.1.0");
    assert.equal(report.status, 200, JSON.stringify(report.body));
    assert.equal(report.body.pairs, 3);
    const answers = report.body.answers as { compared: number; agreed: number };
    assert.deepEqual(
      [answers.compared, answers.agreed],
      [3, 0],
      "the candidate answers differently every time",
    );
  });
});
