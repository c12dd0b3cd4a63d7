import assert from "node:assert/strict";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type ServerType, serve } from "@hono/node-server";
import type { Hono } from "hono";
import { captureIo } from "../../test/support/capture-io.ts";
import { main } from "../cli/main.ts";
import { decideGate } from "../evals/decide-gate.ts";
import { refunderAgent, refunderWorker } from "../evals/eval-fixtures.ts";
import { summarize } from "../evals/eval-result.ts";
import { sqlEvalResultStore } from "../evals/eval-result-store.ts";
import { loadDataset } from "../evals/load-dataset.ts";
import { createAgentCatalog } from "../runtime/agent-catalog.ts";
import { startRun } from "../runtime/start-run.ts";
import type { Worker } from "../runtime/worker.ts";
import { openStore } from "../store/open-store.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { createApp } from "./create-app.ts";

describe("feedback and eval-gate routes", () => {
  let store: SqlStore;
  let worker: Worker;
  let app: Hono;
  let server: ServerType;
  let url: string;

  before(async () => {
    store = await openStore({});
    ({ worker } = await refunderWorker(store));
    app = createApp({ store, agents: createAgentCatalog([refunderAgent]), worker, log: () => undefined });
    server = await new Promise<ServerType>((resolve) => {
      const created = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(created));
    });
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await worker.stop();
    await store.close();
  });

  async function finishedRun(input: string): Promise<string> {
    const { run } = await startRun({
      store,
      agent: refunderAgent,
      input,
      principal: { subject: "ada", tenant: "default", roles: [] },
    });
    worker.poke();
    for (let i = 0; i < 200; i++) {
      const current = await store.getRun(run.runId);
      if (current && !["queued", "running"].includes(current.status)) return run.runId;
      await store.waitForEvents({ runId: run.runId, afterSeq: current?.lastSeq ?? 0, timeoutMs: 100 });
    }
    throw new Error("the run did not settle");
  }

  const post = (path: string, body: unknown) =>
    app.request(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  test("POST /v1/runs/{id}/feedback stores a thumbs up or down with a comment as a score", async () => {
    const runId = await finishedRun("refund 30");
    const response = await post(`/v1/runs/${runId}/feedback`, {
      rating: "down",
      comment: "should have asked why",
    });
    assert.equal(response.status, 201);
    const feedback = (await response.json()) as Record<string, unknown>;
    assert.deepEqual(
      {
        runId: feedback.runId,
        rating: feedback.rating,
        score: feedback.score,
        comment: feedback.comment,
        by: feedback.by,
      },
      { runId, rating: "down", score: 0, comment: "should have asked why", by: "local-developer" },
    );
    const scores = (await (await app.request(`/v1/runs/${runId}/scores`)).json()) as {
      events: { type: string }[];
    };
    assert.deepEqual(
      scores.events.map((event) => event.type),
      ["feedback"],
    );
    assert.equal((await post(`/v1/runs/${runId}/feedback`, { rating: "meh" })).status, 400);
    assert.equal((await post("/v1/runs/run_nope/feedback", { rating: "up" })).status, 404);

    const promoted = await post(`/v1/feedback/${feedback.id}/promote`, {});
    assert.equal(promoted.status, 400, "a thumbs-down needs the expected answer");
    const withExpected = (await (
      await post(`/v1/feedback/${feedback.id}/promote`, { expected: "Why do you want a refund?" })
    ).json()) as { case: { input: string; expect: unknown } };
    assert.equal(withExpected.case.input, "refund 30");
    assert.deepEqual(withExpected.case.expect, {
      output: { contains: "Why do you want a refund?" },
      reference: "Why do you want a refund?",
    });
    assert.equal((await post("/v1/feedback/999999/promote", {})).status, 404);
  });

  test("keel feedback rates a run and keel feedback promote appends the case to a dataset", async () => {
    const runId = await finishedRun("refund 45");
    const io = captureIo({ KEEL_URL: url });
    assert.equal(await main(["feedback", runId, "up", "--comment", "great"], io), 0, io.stderr.join("\n"));
    const id = /feedback (\d+) recorded: up/.exec(io.stdout.join("\n"))?.[1];
    assert.ok(id);
    const file = join(await mkdtemp(join(tmpdir(), "keel-feedback-")), "feedback.yaml");
    await writeFile(file, "dataset: feedback\ncases: []\n");
    const promote = captureIo({ KEEL_URL: url });
    assert.equal(
      await main(["feedback", "promote", id, "--dataset", file], promote),
      0,
      promote.stderr.join("\n"),
    );
    const dataset = await loadDataset(file);
    assert.deepEqual(
      dataset.cases.map((entry) => [entry.input, entry.expect.tools?.called]),
      [["refund 45", ["refund"]]],
    );
    assert.match(await readFile(file, "utf8"), /kind: feedback/);

    const held = await finishedRun("refund 300");
    const imported = captureIo({ KEEL_URL: url });
    assert.equal(
      await main(["eval", "import", held, "--dataset", file], imported),
      0,
      imported.stderr.join("\n"),
    );
    const withRun = await loadDataset(file);
    assert.deepEqual(withRun.cases[1]?.expect.governance, { refund: "escalated" });
  });

  test("GET /v1/agents/{name}/versions/{version}/eval-gate returns the latest gate verdict per dataset", async () => {
    assert.equal((await app.request("/v1/agents/refunder/versions/1.0.0/eval-gate")).status, 404);
    const summary = summarize([]);
    const result = {
      id: "eval_1",
      agent: "refunder",
      version: "1.0.0",
      model: "scripted",
      deterministic: false,
      dataset: { name: "golden", kind: "regression", version: "sha256:x", file: "/g.yaml" },
      startedAt: "2026-01-01T00:00:00.000Z",
      finishedAt: "2026-01-01T00:00:01.000Z",
      durationMs: 1,
      concurrency: 1,
      summary: { ...summary, total: 10, passed: 10, passRate: 1, meanScore: 1 },
      byCategory: {},
      cases: [],
      advisoryJudges: [],
    };
    await sqlEvalResultStore(store.sql).save({
      result,
      gate: decideGate(result, null, { minScore: 0.9, maxRegression: 0.02 }),
    });
    const gate = (await (await app.request("/v1/agents/refunder/versions/1.0.0/eval-gate")).json()) as {
      passed: boolean;
      datasets: { evalRunId: string }[];
    };
    assert.equal(gate.passed, true);
    assert.equal(gate.datasets[0]?.evalRunId, "eval_1");
  });
});
