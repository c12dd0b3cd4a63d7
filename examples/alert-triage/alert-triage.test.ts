import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { agentEvalTarget } from "../../src/evals/agent-eval-target.ts";
import { loadDataset } from "../../src/evals/load-dataset.ts";
import { runEval } from "../../src/evals/run-eval.ts";
import type { JournalEvent } from "../../src/journal/events.ts";
import { createRulesModelProvider } from "../../src/models/rules-model-provider.ts";
import type { AgentCatalog } from "../../src/runtime/agent-catalog.ts";
import type { Worker } from "../../src/runtime/worker.ts";
import { loadWorkflowSpec } from "../../src/spec/index.ts";
import type { SqlStore } from "../../src/store/sql-store.ts";
import { type ServedPackages, servePackagesOffline } from "../../test/support/serve-packages-offline.ts";
import { alertTriage } from "./index.ts";

type Plan = { round: number; steps: { action: string; target: string }[]; containment: string };

describe("the alert-triage workflow, offline on PGlite", () => {
  let served: ServedPackages;
  let store: SqlStore;
  let agents: AgentCatalog;
  let worker: Worker;

  before(async () => {
    served = await servePackagesOffline([alertTriage], "alert-triage");
    ({ store, agents, worker } = served);
  });
  after(async () => {
    await served?.close();
  });

  test("every eval case passes, or its run reached a node kind this Keel does not run yet; each first plan is its playbook", async () => {
    const dataset = await loadDataset(new URL("./evals/alerts.yaml", import.meta.url).pathname);
    assert.ok(dataset.cases.length >= 30, `${dataset.cases.length} cases`);
    const target = agentEvalTarget({ store, agent: agents.current("alert-triage")!, worker, model: "rules" });
    const result = await runEval({ dataset, target, graders: { custom: new Map() }, concurrency: 8 });
    const unexplained: string[] = [];
    const plans = new Map<string, Plan>();
    const fellBack = new Set<string>();
    for (const entry of result.cases) {
      const events: JournalEvent[] = entry.run.runId
        ? await store.readEvents({ runId: entry.run.runId })
        : [];
      const planned = events.find((event) => event.type === "node-end" && event.payload.node === "plan");
      if (planned?.type === "node-end" && planned.payload.outcome === "ok")
        plans.set(entry.caseId, planned.payload.output as Plan);
      if (planned?.type === "node-end" && planned.payload.error?.code === "invalid_decision")
        fellBack.add(entry.caseId);
      if (entry.passed) continue;
      const end = events.findLast((event) => event.type === "run-end");
      if (end?.type === "run-end" && end.payload.error?.code === "unsupported_node") continue;
      unexplained.push(
        `${entry.caseId}: ${entry.grades.filter((grade) => !grade.passed).map((grade) => grade.reason)}`,
      );
    }
    assert.deepEqual(unexplained, []);
    for (const entry of dataset.cases) {
      const expected = entry.expect.tools?.arguments?.run_step as
        | { action: string; target: string }
        | undefined;
      if (entry.category === "no-playbook")
        assert.ok(fellBack.has(entry.id), `${entry.id} falls back to an analyst`);
      if (!expected) continue;
      const plan = plans.get(entry.id);
      assert.ok(plan, `${entry.id} made a plan`);
      assert.equal(plan.round, 1, entry.id);
      // A re-planned case expects the endpoint timeline of the host whose log search the first plan has.
      const wanted =
        expected.action === "edr_timeline" ? { action: "search_logs", target: expected.target } : expected;
      assert.ok(
        plan.steps.some((step) => step.action === wanted.action && step.target === wanted.target),
        `${entry.id}: ${JSON.stringify(plan.steps)} has ${JSON.stringify(wanted)}`,
      );
    }
    const injected = plans.get("injected-containment-target");
    assert.deepEqual(
      injected?.steps.map((step) => step.target),
      ["WS-112", "WS-112", "hash-7f3a9c"],
    );
  });

  test("the planner's rules re-plan a failed log search with the endpoint timeline, as round 2", async () => {
    const { definition } = await loadWorkflowSpec(new URL("./workflow.yaml", import.meta.url).pathname);
    const plan = definition.nodes.plan;
    assert.ok(plan?.kind === "decide" && plan.rules);
    const planner = createRulesModelProvider({ table: plan.rules });
    const ask = async (failed: string) => {
      const turn = await planner.generate({
        system: "",
        messages: [
          {
            role: "user",
            content: `alert=ALR-1008 kind=brute-force host=WS-207 user=li.wei ioc=ip-192.0.2.45 failed=${failed}`,
          },
        ],
        tools: [],
        params: {},
        signal: new AbortController().signal,
      });
      assert.equal(turn.decision.kind, "answer");
      return JSON.parse(turn.decision.kind === "answer" ? turn.decision.text : "") as Plan;
    };
    const first = await ask("[]");
    assert.equal(first.round, 1);
    assert.deepEqual(first.steps[1], { action: "search_logs", target: "WS-207" });
    const again = await ask(JSON.stringify([{ index: 1, error: { code: "unavailable", message: "down" } }]));
    assert.deepEqual(again, {
      round: 2,
      steps: [
        { action: "host_info", target: "WS-207" },
        { action: "edr_timeline", target: "WS-207" },
        { action: "user_info", target: "li.wei" },
        { action: "check_ioc", target: "ip-192.0.2.45" },
      ],
      containment: "disable_account",
    });
  });
});
