import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { agentEvalTarget } from "../../src/evals/agent-eval-target.ts";
import { type Dataset, loadDataset } from "../../src/evals/load-dataset.ts";
import { runEval } from "../../src/evals/run-eval.ts";
import type { KeelGovernor } from "../../src/governance/create-governor.ts";
import type { JournalEvent, Principal } from "../../src/journal/events.ts";
import type { AgentCatalog } from "../../src/runtime/agent-catalog.ts";
import { startRun } from "../../src/runtime/start-run.ts";
import { createWorker, type Worker } from "../../src/runtime/worker.ts";
import { createAgentGovernor } from "../../src/server/agent-policies.ts";
import { loadAgentPackages } from "../../src/server/create-keel.ts";
import { openStore } from "../../src/store/open-store.ts";
import type { SqlStore } from "../../src/store/sql-store.ts";
import { supportTriage } from "../support-triage/index.ts";
import { itHelpdesk, serviceDesk } from "./index.ts";

/** Which specialist agent each team's node runs (workflow.yaml). */
const SPECIALIST: Record<string, string> = {
  billing: "support-triage",
  shipping: "support-triage",
  it: "it-helpdesk",
};

/** The team a case expects: the `record_resolution` team, or for a held case its category (`it-held`). */
function expectedTeam(entry: Dataset["cases"][number]): string {
  const recorded = entry.expect.tools?.arguments?.record_resolution?.team;
  return typeof recorded === "string" ? recorded : entry.category.replace(/-held$/, "");
}

describe("the service-desk router, offline on PGlite", () => {
  let store: SqlStore;
  let agents: AgentCatalog;
  let governor: KeelGovernor;
  let worker: Worker;
  let dataset: Dataset;

  before(async () => {
    store = await openStore({});
    const loaded = await loadAgentPackages({
      store,
      packages: [supportTriage, itHelpdesk, serviceDesk],
      env: {},
    });
    agents = loaded.agents;
    governor = await createAgentGovernor({ store, agents: loaded.governed, log: () => undefined });
    worker = createWorker({
      store,
      agents: agents.lookup,
      governor,
      owner: "service-desk",
      leaseTtlMs: 5_000,
    });
    worker.start();
    dataset = await loadDataset(new URL("./evals/requests.yaml", import.meta.url).pathname);
  });
  after(async () => {
    await worker?.stop();
    governor?.close();
    await store?.close();
  });

  async function runWorkflow(input: string, principal: Principal): Promise<JournalEvent[]> {
    const { run } = await startRun({ store, agent: agents.current("service-desk")!, input, principal });
    worker.poke();
    for (let i = 0; i < 400; i++) {
      const current = await store.getRun(run.runId);
      if (current && !["queued", "running"].includes(current.status))
        return await store.readEvents({ runId: run.runId });
      await store.waitForEvents({ runId: run.runId, afterSeq: current?.lastSeq ?? 0, timeoutMs: 100 });
    }
    throw new Error(`run for ${input} did not settle`);
  }

  test("the eval set has at least 30 cases over every team, and its classify decision routes each as expected", async () => {
    assert.ok(dataset.cases.length >= 30, `${dataset.cases.length} cases`);
    const teams = new Set(dataset.cases.map(expectedTeam));
    assert.deepEqual([...teams].sort(), ["billing", "it", "person", "shipping"]);
    const misrouted: string[] = [];
    for (const entry of dataset.cases) {
      const events = await runWorkflow(entry.input, {
        subject: `eval+${entry.id}@keel.local`,
        tenant: "default",
        roles: ["customer"],
      });
      const classified = events.find(
        (event) => event.type === "node-end" && event.payload.node === "classify",
      );
      const label = classified?.type === "node-end" ? classified.payload.output : undefined;
      if (label !== expectedTeam(entry))
        misrouted.push(`${entry.id}: routed to ${String(label)}, expected ${expectedTeam(entry)}`);
    }
    assert.deepEqual(misrouted, []);
  });

  test("each specialist, run on its own with a case's request, gives the answer and status the case expects", async () => {
    for (const specialist of ["support-triage", "it-helpdesk"]) {
      const cases = dataset.cases
        .filter((entry) => SPECIALIST[expectedTeam(entry)] === specialist)
        .map((entry) => ({
          ...entry,
          // The parent's own trajectory (record_resolution) is not the child's: grade the answer and status here.
          expect: {
            ...(entry.expect.status ? { status: entry.expect.status } : {}),
            ...(entry.expect.output ? { output: entry.expect.output } : {}),
          },
        }));
      const target = agentEvalTarget({ store, agent: agents.current(specialist)!, worker, model: "rules" });
      const result = await runEval({
        dataset: { ...dataset, cases },
        target,
        graders: { custom: new Map() },
        concurrency: 4,
      });
      const failed = result.cases
        .filter((entry) => !entry.passed)
        .map(
          (entry) =>
            `${entry.caseId}: ${entry.grades.filter((grade) => !grade.passed).map((grade) => grade.reason)}`,
        );
      assert.deepEqual(failed, [], specialist);
      assert.ok(cases.length >= 10, `${cases.length} ${specialist} cases`);
    }
  });
});
