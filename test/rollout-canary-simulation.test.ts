import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { assignArm } from "../src/deployments/assign-arm.ts";
import type { Deployment } from "../src/deployments/index.ts";
import { defineAgent } from "../src/runtime/agent-package.ts";
import { createKeel, type Keel } from "../src/server/create-keel.ts";
import type { SqlStore } from "../src/store/sql-store.ts";
import { testStores } from "./support/test-database.ts";

/**
 * The canary simulation (docs/rollout.md): an offline agent whose stable version answers every case and a candidate
 * whose rules table has no answer for one case in five (inputs ending in 0 or 5), so 20% of its runs fail — 20
 * points more than stable. The ramp is 20 → 50 → 100% with 30 candidate runs per stage and a success-rate gate
 * allowing a 10-point drop at 95% confidence. Runs go through the HTTP API and the worker; after each batch the
 * controller judges the stage, as its timer would.
 */
const RAMP = `rollout:
  stickiness: run
  canary:
    stages:
      - { percent: 20, minRuns: 30, minDuration: 1s }
      - { percent: 50, minRuns: 30, minDuration: 1s }
      - { percent: 100, minRuns: 30, minDuration: 1s }
    gates: { successRate: { maxDrop: 0.1 } }
`;

/**
 * The most runs the failing candidate may take before it is rolled back (both arms, at the first stage). Each run
 * carries an idempotency key, its sticky key, and the simulation works out the run's arm from it as the server
 * will (`assignArm`), so it can give every fifth candidate run an input the candidate cannot answer: the
 * candidate fails exactly one run in five, not a binomial draw around it (a draw once gave it 13% over 191 runs,
 * too close to stable for the gate to decide). Which runs land on the candidate is still the deployment's random
 * split; about 200 candidate runs at 20% make the 10-point breach certain (z ≈ 3.5).
 */
const ROLLBACK_BOUND = 1_000;
/** The most runs an equal candidate may take to reach 100%. */
const PROMOTION_BOUND = 800;
const BATCH = 20;

function spec(version: string, rules: string): string {
  return `apiVersion: keel/v1
kind: Agent
name: helper
version: ${version}
description: Answers a numbered case.
owner: { team: ops }
riskTier: 3
prompt: ./prompt.md
model: { provider: rules, id: offline, offline: ./${rules} }
limits: { maxSteps: 4 }
governance: { allowedTools: [] }
${RAMP}`;
}

const ANSWER_ALL = `apiVersion: keel/v1
kind: RulesTable
rules:
  - name: answer
    answer: case handled
`;

/** No rule matches an input ending in 0 or 5: the model has no answer and the run fails. */
const FAIL_ONE_IN_FIVE = `apiVersion: keel/v1
kind: RulesTable
rules:
  - name: answer
    when: { input: '[12346789]$' }
    answer: case handled, differently
`;

function writePackage(candidateRules: string) {
  const dir = mkdtempSync(join(tmpdir(), "keel-canary-"));
  writeFileSync(join(dir, "prompt.md"), "You handle cases.\n");
  writeFileSync(join(dir, "stable.rules.yaml"), ANSWER_ALL);
  writeFileSync(join(dir, "candidate.rules.yaml"), candidateRules);
  writeFileSync(join(dir, "agent.yaml"), spec("1.0.0", "stable.rules.yaml"));
  writeFileSync(join(dir, "1.1.0.yaml"), spec("1.1.0", "candidate.rules.yaml"));
  return defineAgent({ spec: join(dir, "agent.yaml"), versions: [join(dir, "1.1.0.yaml")], tools: [] });
}

async function post(keel: Keel, path: string, body: unknown): Promise<Response> {
  return await keel.fetch(
    new Request(`http://127.0.0.1${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  );
}

/** Send runs in batches until the deployment is over or `bound` runs were sent; answers the deployment and the count. */
async function simulate(
  keel: Keel,
  store: SqlStore,
  bound: number,
): Promise<{ deployment: Deployment; runs: number; candidateRuns: number }> {
  const rollouts = keel.rollouts!;
  let runs = 0;
  let candidateRuns = 0;
  let steeredToCandidate = 0;
  const candidateRunsByStage = [0, 0, 0];
  for (;;) {
    const ids: string[] = [];
    const predicted = new Map<string, "stable" | "candidate">();
    const current = (await rollouts.deployments.latest("helper"))!;
    for (let index = 0; index < BATCH; index++) {
      const idempotencyKey = `case-${runs + index + 1}`;
      const arm = assignArm({
        deploymentId: current.deploymentId,
        key: idempotencyKey,
        candidatePercent: current.candidatePercent,
      });
      // An input ending in 5 has no answer in the failing candidate's table; every stable run answers.
      const ending = arm === "candidate" && ++steeredToCandidate % 5 === 0 ? 5 : 1;
      const started = await post(keel, "/v1/agents/helper/runs", {
        input: `case ${runs + index + 1}${ending}`,
        idempotencyKey,
      });
      assert.equal(started.status, 202, await started.clone().text());
      const { id } = (await started.json()) as { id: string };
      ids.push(id);
      predicted.set(id, arm);
    }
    runs += BATCH;
    for (const runId of ids) {
      for (;;) {
        const run = (await store.getRun(runId))!;
        assert.ok(run.status !== "suspended" && run.status !== "cancelled", `run ${runId} ${run.status}`);
        if (run.status === "completed" || run.status === "failed") {
          // The worker ran the version the deployment assigned, as the run-start journals it.
          if (run.rollout?.arm === "candidate") candidateRuns += 1;
          // The simulation worked the arm out as the server did.
          assert.equal(run.rollout?.arm, predicted.get(runId));
          assert.equal(run.agentVersion, run.rollout?.arm === "candidate" ? "1.1.0" : "1.0.0");
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    // A stage with its runs but not yet its minimum duration waits for the clock rather than for more runs, so the
    // number of runs a verdict takes does not depend on how fast this machine runs them.
    const stage = current.plan.stages[current.stage]!;
    candidateRunsByStage[current.stage]! += [...predicted.values()].filter(
      (arm) => arm === "candidate",
    ).length;
    const stageCandidateRuns = candidateRunsByStage[current.stage]!;
    const elapsed = Date.now() - current.stageStartedAt.getTime();
    if (stageCandidateRuns >= stage.minRuns && elapsed < stage.minDurationMs)
      await new Promise((resolve) => setTimeout(resolve, stage.minDurationMs - elapsed + 20));
    await rollouts.evaluate("helper");
    const deployment = (await rollouts.deployments.latest("helper"))!;
    if (deployment.state !== "running" || runs >= bound) return { deployment, runs, candidateRuns };
  }
}

for (const kind of testStores()) {
  describe(`a canary on ${kind.name}`, () => {
    test(`a candidate failing 20 points more often is rolled back at the first stage within ${ROLLBACK_BOUND} runs, the verdict journaled with its evidence`, async () => {
      const store = await kind.open();
      const keel = await createKeel({
        store,
        agents: [writePackage(FAIL_ONE_IN_FIVE)],
        env: {},
        log: () => undefined,
        timers: false,
      });
      try {
        const started = await post(keel, "/v1/agents/helper/rollout", { to: "1.1.0", strategy: "canary" });
        assert.equal(started.status, 201, await started.clone().text());
        const { deployment, runs, candidateRuns } = await simulate(keel, store, ROLLBACK_BOUND);
        const verdict = await keel.rollouts!.evaluate("helper");
        assert.equal(deployment.state, "rolled_back", `after ${runs} runs: ${JSON.stringify(verdict)}`);
        assert.equal(deployment.stage, 0, "rolled back at the first stage");
        assert.ok(runs <= ROLLBACK_BOUND);
        const history = await keel.rollouts!.deployments.history(deployment.deploymentId);
        assert.deepEqual(
          history.map((event) => [event.kind, event.actor]),
          [
            ["started", "local-developer"],
            ["rolled_back", "system:keel"],
          ],
        );
        const evidence = history[1]!.evidence as {
          verdict: {
            action: string;
            gates: { gate: string; breached: boolean; candidate: number; stable: number }[];
          };
        };
        assert.equal(evidence.verdict.action, "rollback");
        const gate = evidence.verdict.gates.find((each) => each.gate === "successRate")!;
        assert.equal(gate.breached, true);
        assert.ok(candidateRuns >= 10, `${candidateRuns} candidate runs`);
        // Every new run goes to stable again, and the API says so.
        const after = await post(keel, "/v1/agents/helper/runs", { input: "case 5" });
        assert.equal(((await after.json()) as { agentVersion: string }).agentVersion, "1.0.0");
        const status = await keel.fetch(new Request("http://127.0.0.1/v1/agents/helper/rollout"));
        const body = (await status.json()) as { serving: string; deployment: { state: string } };
        assert.deepEqual([body.serving, body.deployment.state], ["1.0.0", "rolled_back"]);
        const metrics = await (await keel.fetch(new Request("http://127.0.0.1/metrics"))).text();
        assert.match(
          metrics,
          /keel_rollout_rollbacks_total\{agent="helper",strategy="canary",trigger="automatic"\} 1/,
        );
      } finally {
        await keel.close();
        await store.close();
      }
    });

    test(`an equally good candidate reaches 100% and is promoted within ${PROMOTION_BOUND} runs, each advance journaled with its evidence`, async () => {
      const store = await kind.open();
      const keel = await createKeel({
        store,
        agents: [writePackage(ANSWER_ALL)],
        env: {},
        log: () => undefined,
        timers: false,
      });
      try {
        const started = await post(keel, "/v1/agents/helper/rollout", { to: "1.1.0" });
        assert.equal(started.status, 201, await started.clone().text());
        const { deployment, runs } = await simulate(keel, store, PROMOTION_BOUND);
        assert.equal(deployment.state, "promoted", `after ${runs} runs`);
        const history = await keel.rollouts!.deployments.history(deployment.deploymentId);
        assert.deepEqual(
          history.map((event) => [event.kind, event.candidatePercent]),
          [
            ["started", 20],
            ["advanced", 50],
            ["advanced", 100],
            ["promoted", 100],
          ],
        );
        for (const event of history.slice(1))
          assert.equal((event.evidence as { verdict: { action: string } }).verdict.action, "advance");
        const after = await post(keel, "/v1/agents/helper/runs", { input: "case 5" });
        assert.equal(((await after.json()) as { agentVersion: string }).agentVersion, "1.1.0");
      } finally {
        await keel.close();
        await store.close();
      }
    });
  });
}
