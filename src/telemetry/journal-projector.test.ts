import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Registry } from "prom-client";
import { type OtlpReceiver, startOtlpReceiver } from "../../test/support/otlp-receiver.ts";
import { appendSyntheticRun, syntheticEvents } from "../../test/support/synthetic-journal.ts";
import { spanIdOf, traceIdOf } from "../journal/trace-context.ts";
import { openStore } from "../store/open-store.ts";
import type { SqlClient, Store } from "../store/store.ts";
import { buildRunSpans } from "./build-run-spans.ts";
import { parsePathQuery, pathPattern } from "./decision-path.ts";
import { createJournalProjector } from "./journal-projector.ts";
import { createOtlpTraceExporter } from "./otlp-trace-exporter.ts";
import { summarizeRun } from "./summarize-run.ts";
import type { TelemetryEvent } from "./telemetry-event.ts";
import { createTelemetryMetrics } from "./telemetry-metrics.ts";

let store: Store;
let receiver: OtlpReceiver;
before(async () => {
  store = await openStore({});
  receiver = await startOtlpReceiver();
});
after(async () => {
  await receiver.close();
  await store.close();
});

/** A run's events as the store would return them, without a store. */
function journalOf(events: { type: string; payload: unknown }[], runId = "run_x"): TelemetryEvent[] {
  const start = {
    agent: "support-triage",
    agentVersion: "1.0.0",
    specHash: "sha256:x",
    input: "hi",
    principal: { subject: "u", tenant: "default", roles: [] },
    startedAt: "2026-11-21T10:00:00.000Z",
    deadlineAt: "2026-11-21T10:10:00.000Z",
    maxSteps: 10,
  };
  return [{ type: "run-start", payload: start }, ...events].map(
    (event, index) =>
      ({
        runId,
        seq: index + 1,
        type: event.type,
        at: new Date(Date.parse(start.startedAt) + index * 1_000).toISOString(),
        payload: event.payload,
      }) as TelemetryEvent,
  );
}

async function projectionRows(): Promise<unknown[]> {
  const runs = await store.sql.query("SELECT * FROM keel_telemetry_runs ORDER BY run_id");
  const calls = await store.sql.query("SELECT * FROM keel_telemetry_model_calls ORDER BY run_id, seq");
  const budgets = await store.sql.query("SELECT * FROM keel_telemetry_budgets ORDER BY scope, period");
  return [runs.rows, calls.rows, budgets.rows];
}

describe("the decision path", () => {
  test("records denied, approved, failed and retried in journal order, approvals included", () => {
    const events = syntheticEvents({
      agent: "a",
      turns: [[{ tool: "issue_refund", outcome: "denied" }]],
      status: "failed",
    });
    // An approval decision (the approvals capability's event) between a review and the call's failure.
    const withApproval = [
      ...events.slice(0, -1),
      { type: "approval-request", payload: { approvalId: "ap1", tool: "issue_refund" } },
      { type: "approval-decision", payload: { approvalId: "ap1", decision: "approve", final: true } },
      ...events.slice(-1),
    ];
    const summary = summarizeRun(journalOf(withApproval));
    assert.deepEqual(summary?.path, ["issue_refund:denied", "issue_refund:approved"]);
    assert.equal(summary?.denials, 1);
  });

  test("matches steps in order with anything between, and never part of a longer step", () => {
    const pattern = pathPattern(
      parsePathQuery("issue_refund:denied > issue_refund:approved > *:failed > issue_refund:retried"),
    );
    assert.equal(
      pattern,
      "%|issue\\_refund:denied%|issue\\_refund:approved%|%:failed%|issue\\_refund:retried|%",
    );
    assert.throws(() => parsePathQuery("issue_refund:vanished"), /unknown path step/);
    assert.throws(() => parsePathQuery("drop table;:denied"), /not a tool name/);
  });
});

describe("span ids", () => {
  test("are stable per run and distinct per span", () => {
    const trace = traceIdOf("run_1", null);
    assert.equal(trace, traceIdOf("run_1", null));
    assert.match(trace, /^[0-9a-f]{32}$/);
    const ids = new Set(Array.from({ length: 10_000 }, (_, index) => spanIdOf(trace, `tool:c${index}:1`)));
    assert.equal(ids.size, 10_000);
    const spans = buildRunSpans(
      journalOf(syntheticEvents({ agent: "a", turns: [[{ tool: "lookup", outcome: "ok" }]] })),
    );
    assert.deepEqual(
      spans.map((span) => span.spanId),
      buildRunSpans(
        journalOf(syntheticEvents({ agent: "a", turns: [[{ tool: "lookup", outcome: "ok" }]] })),
      ).map((span) => span.spanId),
    );
  });
});

describe("approval waits", () => {
  test("span from the hold to the decision that settles it, with its outcome", () => {
    const events = syntheticEvents({ agent: "a", turns: [[{ tool: "issue_refund", outcome: "review" }]] });
    const suspend = events.findIndex((event) => event.type === "run-suspend");
    const decided = [
      ...events.slice(0, suspend + 1),
      { type: "approval-decision", payload: { approvalId: "ap1", decision: "approve", final: false } },
      { type: "approval-decision", payload: { approvalId: "ap1", decision: "approve", final: true } },
      ...events.slice(suspend + 1),
    ];
    const journal = journalOf(decided);
    const wait = buildRunSpans(journal).find((span) => span.name === "approval_wait issue_refund");
    assert.ok(wait);
    const finalSeq = journal.findIndex((event) => (event.payload as { final?: boolean }).final === true) + 1;
    assert.equal(wait.endSeq, finalSeq, "the first of two approvals does not end the wait");
    assert.equal(wait.attributes["keel.approval.outcome"], "approve");
    assert.equal(wait.endMs! - wait.startMs, 2_000);
  });
});

/** A new support-triage run with a lease held on it, to append its events one by one. */
async function leasedRun(name: string) {
  const runId = `run_${name}_${process.pid}_${Date.now().toString(36)}`;
  const now = new Date();
  await store.createRun({
    runId,
    start: {
      agent: "support-triage",
      agentVersion: "1.0.0",
      specHash: `sha256:${name}`,
      input: name,
      principal: { subject: "u", tenant: "default", roles: [] },
      startedAt: now.toISOString(),
      deadlineAt: new Date(now.getTime() + 600_000).toISOString(),
      maxSteps: 20,
    },
  });
  const lease = await store.acquireLease({ runId, owner: name, ttlMs: 60_000 });
  assert.ok(lease);
  return { runId, lease };
}

describe("the journal projector", () => {
  test("deleting the projections and replaying the journal yields the same rows (invariant 8)", async () => {
    for (let index = 0; index < 12; index += 1) {
      await appendSyntheticRun(store, {
        agent: index % 3 === 0 ? "billing" : "support-triage",
        turns: [
          [{ tool: "lookup", outcome: index % 4 === 0 ? "failed" : "ok" }],
          [{ tool: "issue_refund", outcome: index % 5 === 0 ? "review" : "ok" }],
        ],
        ...(index % 6 === 0 ? { status: "failed" as const } : {}),
      });
    }
    const projector = createJournalProjector({ store, batchSize: 5 });
    await projector.catchUp();
    const before = await projectionRows();
    assert.ok((before[0] as unknown[]).length >= 12);
    const replayed = await projector.rebuild();
    assert.equal(replayed.runs, (before[0] as unknown[]).length);
    assert.deepEqual(await projectionRows(), before);
    // Folding again with nothing new changes nothing.
    assert.deepEqual(await projector.catchUp(), { runs: 0, events: 0, spans: 0 });
  });

  test("a run that ends between the projector's two reads of pending runs is folded once, not written twice", async () => {
    const events = syntheticEvents({ agent: "support-triage", turns: [[{ tool: "lookup", outcome: "ok" }]] });
    const runEnd = events.findIndex((event) => event.type === "run-end");
    const { runId, lease } = await leasedRun("ending");
    await store.append({ lease, events: events.slice(0, runEnd) });
    assert.equal((await store.getRun(runId))?.status, "running");
    // Each read of pending runs is its own statement and snapshot: the run is running for the first and has ended
    // by the second (its end is written here, between the two, in the projector's own transaction).
    const sql = store.sql;
    const between: SqlClient = {
      ...sql,
      query: sql.query.bind(sql),
      transaction: async (work) =>
        await sql.transaction(async (tx) => {
          let ended = false;
          const query: SqlClient["query"] = async (text, params, options) => {
            const result = await tx.query(text, params, options);
            if (!ended && text.includes("r.status = 'running'")) {
              ended = true;
              await tx.query(
                "UPDATE keel_runs SET status = 'completed', updated_at = clock_timestamp() WHERE run_id = $1",
                [runId],
              );
            }
            return result as never;
          };
          return await work({ ...tx, query, transaction: tx.transaction.bind(tx) });
        }),
    };
    const projector = createJournalProjector({ store: { sql: between } });
    await projector.catchUp();
    const { rows } = await store.sql.query<{ projected_seq: number }>(
      "SELECT projected_seq FROM keel_telemetry_runs WHERE run_id = $1",
      [runId],
    );
    assert.equal(Number(rows[0]?.projected_seq), runEnd + 1, "folded through its last event");
  });

  test("folds every step of a run that stays running, although those steps leave its updated_at alone", async () => {
    const events = syntheticEvents({ agent: "support-triage", turns: [[{ tool: "lookup", outcome: "ok" }]] });
    const runEnd = events.findIndex((event) => event.type === "run-end");
    const { runId, lease } = await leasedRun("live");
    const projector = createJournalProjector({ store });
    // The first step moves the run to running; a catch-up folds it.
    await store.append({ lease, events: events.slice(0, 2) });
    await projector.catchUp();
    // The run has been running for an hour, and runs that changed since have moved the projector past that time.
    await store.sql.query(
      "UPDATE keel_runs SET updated_at = updated_at - interval '1 hour' WHERE run_id = $1",
      [runId],
    );
    await appendSyntheticRun(store, { agent: "billing", turns: [] });
    await projector.catchUp();
    const running = await store.getRun(runId);
    assert.equal(running?.status, "running");
    // The rest of the run's work, one event at a time, while it stays running.
    for (const event of events.slice(2, runEnd)) {
      await store.append({ lease, events: [event] });
      await projector.catchUp();
      const { rows } = await store.sql.query<{ projected_seq: number }>(
        "SELECT projected_seq FROM keel_telemetry_runs WHERE run_id = $1",
        [runId],
      );
      const run = await store.getRun(runId);
      assert.equal(Number(rows[0]?.projected_seq), run?.lastSeq, `folded through seq ${run?.lastSeq}`);
      assert.equal(run?.updatedAt.getTime(), running?.updatedAt.getTime(), "a step of a running run");
    }
    await store.append({ lease, events: events.slice(runEnd) });
    await projector.catchUp();
    const ended = await store.getRun(runId);
    assert.equal(ended?.status, "completed");
    assert.ok(ended!.updatedAt.getTime() >= running!.updatedAt.getTime());
    const { rows } = await store.sql.query<{ status: string; projected_seq: number }>(
      "SELECT status, projected_seq FROM keel_telemetry_runs WHERE run_id = $1",
      [runId],
    );
    assert.deepEqual(
      { status: rows[0]?.status, seq: Number(rows[0]?.projected_seq) },
      { status: "completed", seq: ended?.lastSeq },
    );
  });

  test("counts every span it cannot deliver: a full queue under back-pressure and a failing collector", async () => {
    const metrics = createTelemetryMetrics({ registry: new Registry(), processMetrics: false });
    receiver.behave("hang");
    const exporter = createOtlpTraceExporter({
      url: receiver.url,
      metrics,
      maxQueueSize: 20,
      maxBatchSize: 10,
      maxConcurrentExports: 1,
      scheduledDelayMs: 1,
      timeoutMs: 300,
    });
    const spans = buildRunSpans(
      journalOf(
        syntheticEvents({
          agent: "a",
          turns: [
            [
              { tool: "lookup", outcome: "ok" },
              { tool: "lookup", outcome: "ok" },
            ],
          ],
        }),
      ),
    );
    let handed = 0;
    for (let round = 0; round < 10; round += 1) {
      exporter.export(spans);
      handed += spans.length;
    }
    await exporter.flush();
    receiver.behave(503);
    exporter.export(spans);
    handed += spans.length;
    await exporter.flush();
    receiver.behave("ok");
    exporter.export(spans);
    handed += spans.length;
    await exporter.shutdown();
    exporter.export(spans);
    handed += spans.length;
    const { exported, dropped } = exporter.stats;
    assert.ok(dropped.queue_full > 0, "back-pressure dropped spans");
    assert.ok(dropped.export_failed > 0, "a failed export is counted");
    assert.equal(dropped.shutdown, spans.length);
    assert.equal(
      exported + dropped.queue_full + dropped.export_failed + dropped.shutdown,
      handed,
      "nothing is lost silently",
    );
    const text = await metrics.scrape();
    assert.match(
      text,
      new RegExp(`keel_telemetry_spans_dropped_total\\{reason="queue_full"\\} ${dropped.queue_full}`),
    );
    assert.match(text, new RegExp(`keel_telemetry_spans_exported_total ${exported}`));
  });
});
