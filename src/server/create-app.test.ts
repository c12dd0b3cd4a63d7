import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type ServerType, serve } from "@hono/node-server";
import { z } from "zod";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import { testGovernor } from "../../test/support/test-governor.ts";
import { createApiClient } from "../cli/api-client.ts";
import { parseSse, readSse } from "../cli/read-sse.ts";
import type { JournalEvent } from "../journal/events.ts";
import { createAgentCatalog } from "../runtime/agent-catalog.ts";
import { createWorker, type Worker } from "../runtime/worker.ts";
import type { KeelStore } from "../store/keel-store.ts";
import { openStore } from "../store/open-store.ts";
import { defineTool } from "../tools/tool.ts";
import { createApp } from "./create-app.ts";

const echo = defineTool({
  name: "echo",
  description: "Echo.",
  input: z.object({ text: z.string() }),
  async execute({ text }) {
    return { text };
  },
});

const agent = scriptedAgent({
  name: "echoer",
  turns: [
    { kind: "tool-calls", calls: [{ callId: "c1", tool: "echo", arguments: { text: "a" } }] },
    { kind: "tool-calls", calls: [{ callId: "c2", tool: "echo", arguments: { text: "b" } }] },
    { kind: "tool-calls", calls: [{ callId: "c3", tool: "echo", arguments: { text: "c" } }] },
    { kind: "answer", text: "done" },
  ],
  tools: [echo],
  maxSteps: 10,
  modelDelayMs: 5,
});

const triager: typeof agent = {
  ...scriptedAgent({
    name: "triager",
    turns: [{ kind: "answer", text: '{"severity": "high", "summary": "db-1 is out of disk"}' }],
  }),
  output: {
    schema: {
      type: "object",
      properties: { severity: { enum: ["low", "high"] }, summary: { type: "string" } },
      required: ["severity", "summary"],
    },
    maxRetries: 0,
  },
};

describe("the HTTP API", () => {
  let store: KeelStore;
  let worker: Worker;
  let server: ServerType;
  let base: string;
  let app: ReturnType<typeof createApp>;

  before(async () => {
    store = await openStore({});
    const agents = createAgentCatalog([agent, triager]);
    worker = createWorker({
      store,
      agents: agents.lookup,
      governor: await testGovernor([agent, triager]),
      owner: "api-test",
      leaseTtlMs: 2_000,
    });
    app = createApp({ store, agents, worker, log: () => undefined });
    worker.start();
    server = await new Promise<ServerType>((resolve) => {
      const created = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(created));
    });
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await worker.stop();
    await store.close();
  });

  async function post(
    path: string,
    body: unknown,
    headers: Record<string, string> = { "content-type": "application/json" },
  ) {
    return await app.request(path, {
      method: "POST",
      headers,
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  }

  async function finished(runId: string) {
    for (;;) {
      const run = (await (await app.request(`/v1/runs/${runId}`)).json()) as {
        status: string;
        events: number;
      };
      if (["completed", "failed", "cancelled"].includes(run.status)) return run;
      await store.waitForEvents({ runId, afterSeq: run.events, timeoutMs: 200 });
    }
  }

  test("starts a run with 202 and a location, and reports its state", async () => {
    const response = await post("/v1/agents/echoer/runs", { input: "go" });
    assert.equal(response.status, 202);
    const run = (await response.json()) as { id: string; status: string };
    assert.equal(response.headers.get("location"), `/v1/runs/${run.id}`);
    assert.equal(run.status, "queued");
    const done = (await finished(run.id)) as { status: string; answer?: string };
    assert.equal(done.status, "completed");
    assert.equal(done.answer, "done");
  });

  test("answers a run of an agent with an output schema with its structured answer, parsed", async () => {
    const client = createApiClient(base);
    const created = await client.call("createRun", { params: { name: "triager" }, body: { input: "db-1?" } });
    await finished(created.id);
    const run = await client.call("getRun", { params: { id: created.id } });
    assert.equal(run.status, "completed");
    assert.deepEqual(run.output, { severity: "high", summary: "db-1 is out of disk" });
    assert.equal(run.answer, '{"severity":"high","summary":"db-1 is out of disk"}');
    // A run without an output schema has no output field.
    const plain = await client.call("createRun", { params: { name: "echoer" }, body: { input: "go" } });
    await finished(plain.id);
    assert.equal("output" in (await client.call("getRun", { params: { id: plain.id } })), false);
  });

  test("returns the same run for a repeated idempotency key", async () => {
    const first = (await (
      await post("/v1/agents/echoer/runs", { input: "x", idempotencyKey: "k-1" })
    ).json()) as { id: string };
    const again = await post("/v1/agents/echoer/runs", { input: "x", idempotencyKey: "k-1" });
    assert.equal(again.status, 200);
    assert.equal(((await again.json()) as { id: string }).id, first.id);
  });

  test("answers a bad body with 400 and the field paths", async () => {
    const response = await post("/v1/agents/echoer/runs", { input: 42, extra: true });
    assert.equal(response.status, 400);
    const body = (await response.json()) as { error: { code: string; issues: { path: string }[] } };
    assert.equal(body.error.code, "invalid_request");
    assert.deepEqual(body.error.issues.map((issue) => issue.path).sort(), ["(body)", "input"]);
  });

  test("answers malformed JSON with 400, and a body not sent as exactly application/json with 415", async () => {
    assert.equal((await post("/v1/agents/echoer/runs", "{not json")).status, 400);
    assert.equal((await post("/v1/agents/echoer/runs", { input: "x" }, {})).status, 415);
    for (const type of [
      "text/plain; application/json",
      "application/json-seq",
      "application/json; charset=utf-16",
    ])
      assert.equal(
        (await post("/v1/agents/echoer/runs", { input: "x" }, { "content-type": type })).status,
        415,
        type,
      );
    const utf8 = await post(
      "/v1/agents/echoer/runs",
      { input: "x" },
      { "content-type": "Application/JSON; charset=UTF-8" },
    );
    assert.equal(utf8.status, 202);
  });

  test("answers an oversized body with 413", async () => {
    const response = await post("/v1/agents/echoer/runs", { input: "x".repeat(1_100_000) });
    assert.equal(response.status, 413);
  });

  test("answers unknown agents, runs and routes with 404 JSON", async () => {
    for (const [method, path] of [
      ["POST", "/v1/agents/nobody/runs"],
      ["GET", "/v1/runs/run_missing"],
      ["GET", "/v1/nowhere"],
    ] as const) {
      const response =
        method === "POST" ? await post(path, { input: "x" }) : await app.request(path, { method });
      assert.equal(response.status, 404, path);
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, "not_found");
    }
  });

  test("answers cancelling a finished run with 409", async () => {
    const run = (await (await post("/v1/agents/echoer/runs", { input: "x" })).json()) as { id: string };
    await finished(run.id);
    const response = await app.request(`/v1/runs/${run.id}/cancel`, { method: "POST" });
    assert.equal(response.status, 409);
  });

  test("validates list filters", async () => {
    assert.equal((await app.request("/v1/runs?status=sleeping")).status, 400);
    const listed = (await (await app.request("/v1/runs?agent=echoer&limit=2")).json()) as { runs: unknown[] };
    assert.equal(listed.runs.length, 2);
  });

  test("lists the runs named by ids, only those, and refuses a malformed id naming the field", async () => {
    const started = await Promise.all(
      ["first", "second", "third"].map(
        async (input) => (await (await post("/v1/agents/echoer/runs", { input })).json()) as { id: string },
      ),
    );
    const wanted = [started[0]!.id, started[2]!.id];
    const listed = (await (
      await app.request(`/v1/runs?ids=${[...wanted, "run_missing"].join(",")}`)
    ).json()) as { runs: { id: string; input: string }[] };
    assert.deepEqual(listed.runs.map((run) => run.id).sort(), [...wanted].sort());
    assert.deepEqual(listed.runs.map((run) => run.input).sort(), ["first", "third"]);
    const refused = await app.request("/v1/runs?ids=run_1,not%20an%20id");
    assert.equal(refused.status, 400);
    const body = (await refused.json()) as { error: { issues: { path: string }[] } };
    assert.match(body.error.issues[0]?.path ?? "", /^ids/);
    await Promise.all(started.map((run) => finished(run.id)));
  });

  test("pages runs created at one instant with nextCursor, none skipped or repeated", async () => {
    const started = [];
    for (const input of ["a", "b", "c", "d", "e"]) {
      started.push((await (await post("/v1/agents/echoer/runs", { input })).json()) as { id: string });
    }
    await Promise.all(started.map((run) => finished(run.id)));
    // Four share one instant, as a batch written in one transaction does; the fifth falls in the same millisecond.
    await store.sql.query(
      `UPDATE keel_runs SET created_at = CASE WHEN run_id = $2 THEN $3::timestamptz ELSE $4::timestamptz END
        WHERE run_id = ANY($1::text[])`,
      [
        started.map((run) => run.id),
        started[4]!.id,
        "2026-02-01T10:00:00.250700Z",
        "2026-02-01T10:00:00.250300Z",
      ],
    );
    const ids = started.map((run) => run.id).join(",");
    const paged: string[] = [];
    const cursors: string[] = [];
    let cursor: string | null = null;
    do {
      const page = (await (
        await app.request(`/v1/runs?ids=${ids}&limit=2${cursor === null ? "" : `&cursor=${cursor}`}`)
      ).json()) as { runs: { id: string }[]; nextCursor: string | null };
      paged.push(...page.runs.map((run) => run.id));
      cursor = page.nextCursor;
      if (cursor !== null) cursors.push(cursor);
    } while (cursor !== null);
    const whole = (await (await app.request(`/v1/runs?ids=${ids}`)).json()) as {
      runs: { id: string }[];
      nextCursor: string | null;
    };
    assert.equal(whole.nextCursor, null);
    assert.deepEqual(
      paged,
      whole.runs.map((run) => run.id),
    );
    assert.equal(paged[0], started[4]!.id);
    assert.deepEqual([...paged].sort(), started.map((run) => run.id).sort());
    assert.equal(cursors.length, 2);
    assert.ok(
      cursors.every((each) => /^[A-Za-z0-9_-]+$/.test(each)),
      "a cursor goes in a query unescaped",
    );
  });

  test("refuses a malformed cursor, and a cursor given with before, with 400 naming the field", async () => {
    const notOurs = Buffer.from(JSON.stringify(["2026-02-30T10:00:00.000000Z", "run_1"])).toString(
      "base64url",
    );
    const millisecondsOnly = Buffer.from(JSON.stringify(["2026-02-01T10:00:00.250Z", "run_1"])).toString(
      "base64url",
    );
    for (const cursor of ["not a cursor", "e30", notOurs, millisecondsOnly, "x".repeat(700)]) {
      const response = await app.request(`/v1/runs?cursor=${encodeURIComponent(cursor)}`);
      assert.equal(response.status, 400, cursor);
      const { error } = (await response.json()) as { error: { issues: { path: string }[] } };
      assert.deepEqual(
        error.issues.map((issue) => issue.path),
        ["cursor"],
        cursor,
      );
    }
    const { nextCursor } = (await (await app.request("/v1/runs?limit=1")).json()) as { nextCursor: string };
    const both = await app.request(`/v1/runs?cursor=${nextCursor}&before=1h`);
    assert.equal(both.status, 400);
    const { error } = (await both.json()) as { error: { message: string; issues: { path: string }[] } };
    assert.deepEqual(
      error.issues.map((issue) => issue.path),
      ["cursor"],
    );
    assert.match(error.message, /`cursor` or `before`, not both/);
  });

  test("streams the journal as SSE and resumes exactly after Last-Event-ID", async () => {
    const client = createApiClient(base);
    const created = await client.call("createRun", { params: { name: "echoer" }, body: { input: "stream" } });
    const all: number[] = [];
    for await (const message of readSse({
      client,
      path: `/v1/runs/${created.id}/events`,
      isLast: (m) => m.event === "run-end",
    })) {
      // Model text streamed live has no id of its own: only journaled events are numbered.
      if (message.event !== "text-delta") all.push(Number(message.id));
    }
    assert.deepEqual(
      all,
      Array.from({ length: all.length }, (_, index) => index + 1),
    );
    // Reconnect from every cut point: each yields the rest exactly once, in order.
    for (let cut = 0; cut < all.length; cut++) {
      const response = await fetch(`${base}/v1/runs/${created.id}/events`, {
        headers: { "last-event-id": String(cut) },
      });
      const ids: number[] = [];
      for await (const message of parseSse(response.body!)) {
        const event = JSON.parse(message.data) as JournalEvent;
        assert.equal(event.seq, Number(message.id));
        ids.push(event.seq);
      }
      assert.deepEqual(ids, all.slice(cut), `after ${cut}`);
    }
  });

  test("delivers a live run's events exactly once across a dropped connection", async () => {
    const client = createApiClient(base);
    const created = await client.call("createRun", { params: { name: "echoer" }, body: { input: "live" } });
    const controller = new AbortController();
    const first = await fetch(`${base}/v1/runs/${created.id}/events`, { signal: controller.signal });
    const seen: number[] = [];
    for await (const message of parseSse(first.body!)) {
      if (message.event === "text-delta") continue;
      seen.push(Number(message.id));
      if (seen.length === 2) break;
    }
    controller.abort();
    const rest = await fetch(`${base}/v1/runs/${created.id}/events`, {
      headers: { "last-event-id": String(seen.at(-1)) },
    });
    for await (const message of parseSse(rest.body!)) {
      if (message.event !== "text-delta") seen.push(Number(message.id));
    }
    assert.deepEqual(
      seen,
      Array.from({ length: seen.length }, (_, index) => index + 1),
    );
    const run = await client.call("getRun", { params: { id: created.id } });
    assert.equal(seen.length, run.events);
  });

  test("rejects a Last-Event-ID that is not a sequence number", async () => {
    const created = (await (await post("/v1/agents/echoer/runs", { input: "x" })).json()) as { id: string };
    const response = await app.request(`/v1/runs/${created.id}/events`, {
      headers: { "last-event-id": "abc" },
    });
    assert.equal(response.status, 400);
  });
});
