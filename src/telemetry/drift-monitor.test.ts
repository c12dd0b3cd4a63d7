import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Registry } from "prom-client";
import { appendSyntheticRun } from "../../test/support/synthetic-journal.ts";
import { verifyChain } from "../journal/verify-chain.ts";
import { openStore } from "../store/open-store.ts";
import type { Store } from "../store/store.ts";
import { DRIFT_MONITOR_AGENT } from "./drift-alarm.ts";
import { checkDrift, populationStabilityIndex } from "./drift-monitor.ts";
import { createJournalProjector } from "./journal-projector.ts";
import { createTelemetryMetrics } from "./telemetry-metrics.ts";

let store: Store;
before(async () => {
  store = await openStore({});
});
after(async () => {
  await store.close();
});

describe("drift alarms", () => {
  test("the population stability index is zero for equal distributions and grows with the shift", () => {
    assert.equal(populationStabilityIndex({ a: 50, b: 50 }, { a: 5, b: 5 }), 0);
    const small = populationStabilityIndex({ a: 50, b: 50 }, { a: 55, b: 45 });
    const large = populationStabilityIndex({ a: 50, b: 50 }, { a: 90, b: 10 });
    assert.ok(small > 0 && small < 0.1, `small shift ${small}`);
    assert.ok(large > 0.25, `large shift ${large}`);
  });

  test("a shifted tool mix, outcome and cost raise a journaled alarm, the PSI gauge and the alarm counter", async () => {
    const metrics = createTelemetryMetrics({ registry: new Registry(), sql: store.sql });
    const projector = createJournalProjector({ store, metrics });
    const baselineStart = new Date();
    for (let index = 0; index < 20; index += 1) {
      await appendSyntheticRun(store, {
        agent: "support-triage",
        costPerCall: 0.01,
        turns: [[{ tool: "lookup", outcome: "ok" }]],
      });
    }
    const split = new Date();
    for (let index = 0; index < 20; index += 1) {
      await appendSyntheticRun(store, {
        agent: "support-triage",
        costPerCall: 0.2,
        status: index % 2 === 0 ? "failed" : "completed",
        turns: [[{ tool: "issue_refund", outcome: "failed" }]],
      });
    }
    await projector.catchUp();
    const check = await checkDrift({
      store,
      agent: "support-triage",
      tenant: "larkspur",
      baseline: { since: baselineStart, until: split },
      current: { since: split, until: new Date(Date.now() + 1_000) },
      metrics,
    });
    const byDimension = Object.fromEntries(check.readings.map((reading) => [reading.dimension, reading]));
    assert.equal(byDimension.tool_mix?.alarm, true);
    assert.equal(byDimension.outcome?.alarm, true);
    assert.equal(byDimension.cost?.alarm, true);
    assert.ok(check.alarmRunId);
    const events = await store.readEvents({ runId: check.alarmRunId });
    assert.equal(verifyChain(events).ok, true, "the alarm is hash-linked like any journal");
    assert.equal(events[0]?.type === "run-start" ? events[0].payload.agent : null, DRIFT_MONITOR_AGENT);
    assert.equal(
      (await store.getRun(check.alarmRunId))?.principal.tenant,
      "larkspur",
      "the agent's tenant owns it",
    );
    const end = events.at(-1);
    assert.ok(end?.type === "run-end");
    assert.match(end.payload.answer ?? "", /"kind":"drift-alarm".*"dimension":"tool_mix"/);
    await projector.catchUp();
    const text = await metrics.scrape();
    assert.match(text, /keel_drift_psi\{agent="support-triage",dimension="tool_mix"\} \d/);
    assert.match(text, /keel_drift_alerts_total\{agent="support-triage",dimension="tool_mix"\} 1/);
    assert.doesNotMatch(text, /keel_runs_total\{agent="keel.drift-monitor"/);
    // The same windows compared with themselves raise nothing.
    const calm = await checkDrift({
      store,
      agent: "support-triage",
      baseline: { since: baselineStart, until: split },
      current: { since: baselineStart, until: split },
    });
    assert.equal(calm.alarmRunId, null);
  });
});
