import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { agentEvalTarget } from "../../src/evals/agent-eval-target.ts";
import { loadDataset } from "../../src/evals/load-dataset.ts";
import { runEval } from "../../src/evals/run-eval.ts";
import type { AgentCatalog } from "../../src/runtime/agent-catalog.ts";
import type { Worker } from "../../src/runtime/worker.ts";
import type { SqlStore } from "../../src/store/sql-store.ts";
import { type ServedPackages, servePackagesOffline } from "../../test/support/serve-packages-offline.ts";
import { vendorChecks, vendorDiligence } from "./index.ts";

describe("the vendor-diligence workflow, offline on PGlite", () => {
  let served: ServedPackages;
  let store: SqlStore;
  let agents: AgentCatalog;
  let worker: Worker;

  before(async () => {
    served = await servePackagesOffline([vendorDiligence, ...vendorChecks], "vendor-diligence");
    ({ store, agents, worker } = served);
  });
  after(async () => {
    await served?.close();
  });

  test("every eval case passes, or its run reached a node kind this Keel does not run yet", async () => {
    const dataset = await loadDataset(new URL("./evals/vendors.yaml", import.meta.url).pathname);
    assert.ok(dataset.cases.length >= 30, `${dataset.cases.length} cases`);
    const target = agentEvalTarget({
      store,
      agent: agents.current("vendor-diligence")!,
      worker,
      model: "rules",
    });
    // Two cases at a time: each fans out to four checks with 3 s branch timeouts, and this file runs beside
    // others in the suite; the eval gate (`keel eval vendor-diligence --gate`) runs all cases 16 at a time, alone.
    const result = await runEval({ dataset, target, graders: { custom: new Map() }, concurrency: 2 });
    const unexplained: string[] = [];
    for (const entry of result.cases.filter((item) => !item.passed)) {
      const events = entry.run.runId ? await store.readEvents({ runId: entry.run.runId }) : [];
      const end = events.findLast((event) => event.type === "run-end");
      if (end?.type === "run-end" && end.payload.error?.code === "unsupported_node") continue;
      unexplained.push(
        `${entry.caseId}: ${entry.grades.filter((grade) => !grade.passed).map((grade) => grade.reason)}`,
      );
    }
    assert.deepEqual(unexplained, []);
    // A vendor not on file never reaches the fan-out, so those cases run to their end today.
    const unknown = result.cases.filter((entry) => entry.category === "unknown");
    assert.ok(unknown.length >= 5 && unknown.every((entry) => entry.passed));
  });

  test("each check agent, run on its own, answers its finding for a vendor", async () => {
    const dataset = await loadDataset(new URL("./evals/vendors.yaml", import.meta.url).pathname);
    const cases = [
      {
        agent: "sanctions-check",
        input: "Check vendor V-110",
        expect: "HIT: Trey Research Labs is listed on the UK sanctions list",
      },
      {
        agent: "financials-check",
        input: "Check vendor V-111",
        expect: "CONCERN: Alpine Ski House has filed no accounts we hold.",
      },
      {
        agent: "news-check",
        input: "Check vendor V-101",
        expect: "CLEAR: no adverse news about Northwind Traders.",
      },
      {
        agent: "certifications-check",
        input: "Check vendor V-108",
        expect: "CLEAR: ISO 27001 valid until 2028-05-31",
      },
    ];
    for (const { agent, input, expect } of cases) {
      const target = agentEvalTarget({ store, agent: agents.current(agent)!, worker, model: "rules" });
      const result = await runEval({
        dataset: {
          ...dataset,
          cases: [
            {
              id: agent,
              input,
              category: "check",
              tags: [],
              expect: { status: "completed", output: { contains: expect } },
            },
          ],
        },
        target,
        graders: { custom: new Map() },
      });
      assert.equal(
        result.cases[0]!.passed,
        true,
        `${agent}: ${result.cases[0]!.grades.map((grade) => grade.reason)}`,
      );
    }
  });
});
