import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser } from "playwright-core";
import { calibrateJudge, loadJudgeLabels } from "../../src/evals/calibrate-judge.ts";
import { compareRuns } from "../../src/evals/compare-runs.ts";
import { decideGate } from "../../src/evals/decide-gate.ts";
import { EvalCase } from "../../src/evals/eval-case.ts";
import type { EvalRunResult } from "../../src/evals/eval-result.ts";
import { sqlEvalResultStore } from "../../src/evals/eval-result-store.ts";
import { functionEvalTarget } from "../../src/evals/eval-target.ts";
import type { Grader } from "../../src/evals/grader.ts";
import {
  judgeCalibrationRecord,
  type StoredJudgeCalibration,
  sqlJudgeCalibrationStore,
} from "../../src/evals/judge-calibration-store.ts";
import { JUDGE_TOOL, judgeGrader } from "../../src/evals/judge-grader.ts";
import { runEval } from "../../src/evals/run-eval.ts";
import { createAnthropicModelProvider } from "../../src/models/anthropic-model-provider.ts";
import {
  type LoopbackProvider,
  startLoopbackProvider,
} from "../../src/models/loopback/loopback-provider-server.ts";
import { defineAgent } from "../../src/runtime/agent-package.ts";
import { type RunningServer, startServer } from "../../src/server/start-server.ts";
import { openStore } from "../../src/store/open-store.ts";
import type { SqlStore } from "../../src/store/sql-store.ts";
import { formatPercent, formatUsd } from "../../web/src/format.ts";
import { launchBrowser, noBrowser, openPage, screenshot, seriousViolations } from "../support/browser.ts";

/**
 * Two agents whose models answer through the real gateway from a loopback Anthropic server, so every call is priced
 * from the usage it reports; the clerk has daily budgets and its finished runs are graded by production sampling.
 */
function writeAgents(): string[] {
  const dir = mkdtempSync(join(tmpdir(), "keel-costs-"));
  const agents = [
    {
      name: "ledger-clerk",
      model: "claude-sonnet-4-5-20250929",
      extra: `budgets:
  perAgentPerDay: { usd: 2 }
  perTenantPerDay: { usd: 20 }
evals:
  productionSampling: 1
  production: { bounds: { maxSteps: 6 } }
`,
    },
    { name: "ledger-auditor", model: "claude-haiku-4-5-20251001", extra: "" },
  ];
  return agents.map(({ name, model, extra }) => {
    const spec = join(dir, `${name}.yaml`);
    writeFileSync(
      spec,
      `apiVersion: keel/v1
kind: Agent
name: ${name}
version: 1.1.0
description: Answers questions about the ledger.
owner: { team: finance }
riskTier: 1
prompt: ./${name}.md
model: { provider: anthropic, id: ${model} }
tools: []
governance: { allowedTools: [] }
${extra}`,
    );
    writeFileSync(join(dir, `${name}.md`), "You answer questions about the ledger.\n");
    return spec;
  });
}

const CASES = [
  ["balance-1", "balances", "1"],
  ["balance-2", "balances", "2"],
  ["balance-3", "balances", "3"],
  ["refund-4", "refunds", "4"],
  ["refund-5", "refunds", "5"],
  ["refund-6", "refunds", "6"],
].map(([id, category, input]) =>
  EvalCase.parse({
    id,
    category,
    input,
    expect: { output: { exact: String(Number(input) * 2) }, judge: ["ledger-quality"] },
  }),
);

const LEDGER_RUBRIC = {
  rubric: "A correct, plain answer about the ledger.",
  criteria: [
    { name: "accurate", description: "states the right amount" },
    { name: "plain", description: "no negative amounts" },
  ],
};

/**
 * The judge asks the loopback model, which answers through `submit_verdict` like a real one. The eval runs grade
 * with it as advisory (reported, never counted); its calibration grades people's labels with it as `keel eval
 * calibrate` does.
 */
function ledgerJudge(baseUrl: string, advisory = true) {
  return judgeGrader({
    name: "ledger-quality",
    rubric: LEDGER_RUBRIC,
    model: createAnthropicModelProvider({
      model: "claude-haiku-4-5-20251001",
      apiKey: "sk-loopback",
      baseUrl,
    }),
    advisory,
  });
}

/**
 * Calibrate the judge on people's "plain" labels and store it as `keel eval calibrate` does with DATABASE_URL:
 * labels read from a file, graded by the judge, the agreement stored in keel_judge_calibrations.
 */
async function storeCalibration(
  store: SqlStore,
  baseUrl: string,
  labels: readonly (readonly [answer: string, plain: "pass" | "fail"])[],
  at: string,
): Promise<StoredJudgeCalibration> {
  const file = join(mkdtempSync(join(tmpdir(), "keel-labels-")), "labels.yaml");
  writeFileSync(
    file,
    labels
      .map(
        ([answer, plain], index) =>
          `- { id: item-${index}, input: "What is the balance?", answer: "${answer}", labels: { plain: ${plain} } }`,
      )
      .join("\n"),
  );
  const items = await loadJudgeLabels(file);
  const bar = { minKappa: 0.7, minLowerBound: 0, minLabels: 6 };
  const calibration = await calibrateJudge({ judge: ledgerJudge(baseUrl, false), items, bar });
  const record = judgeCalibrationRecord({
    agent: "ledger-clerk",
    version: "1.1.0",
    rubric: LEDGER_RUBRIC,
    labelsFile: file,
    items,
    calibration,
    bar,
    at: new Date(at),
  });
  await sqlJudgeCalibrationStore(store.sql).save(record);
  return record;
}

/** A unit eval of one of the clerk's components, stored as `keel eval --gate` stores it (keel_eval_runs). */
async function storeEval(
  store: SqlStore,
  judge: Grader,
  version: string,
  double: (n: number) => number,
  baseline: EvalRunResult | null,
): Promise<EvalRunResult> {
  const result = await runEval({
    dataset: {
      dataset: "ledger-golden",
      kind: "regression",
      judges: {},
      file: "/ledger-golden.yaml",
      version: "sha256:ledger",
      cases: CASES,
    },
    target: functionEvalTarget({
      name: "ledger-clerk",
      version,
      run: (input) => String(double(Number(input))),
    }),
    graders: { judges: new Map([["ledger-quality", judge]]) },
  });
  const comparison = baseline ? compareRuns(baseline, result) : null;
  await sqlEvalResultStore(store.sql).save({
    result,
    gate: decideGate(result, comparison, { minScore: 0.6, maxRegression: 0.2 }),
  });
  return result;
}

async function until<T>(what: string, check: () => Promise<T | null | undefined | false>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("the console's Costs and Evals views", { skip: noBrowser }, () => {
  let browser: Browser;
  let store: SqlStore;
  let model: LoopbackProvider;
  let server: RunningServer;
  let runIds: string[] = [];
  let baseline: EvalRunResult;
  let current: EvalRunResult;

  const get = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${server.url}${path}`);
    assert.equal(response.status, 200, `${path}: ${await response.clone().text()}`);
    return (await response.json()) as T;
  };

  before(async () => {
    model = await startLoopbackProvider({ wire: "anthropic" });
    // Usage grows with the question, so runs cost different amounts.
    model.setDefault((request) => {
      if (JSON.stringify(request.body.tools ?? []).includes(JUDGE_TOOL)) {
        const plain = !JSON.stringify(request.body.messages).includes("-1");
        const verdict = {
          criteria: {
            accurate: { pass: true, rationale: "right" },
            plain: { pass: plain, rationale: "sign" },
          },
          rationale: "graded",
        };
        return { reply: { toolCalls: [{ id: "verdict", name: JUDGE_TOOL, arguments: verdict }] } };
      }
      const size = Number(/size (\d+)/.exec(JSON.stringify(request.body.messages))?.[1] ?? 1);
      return { reply: { text: "The ledger balances.", usage: { input: 1_500 * size, output: 400 * size } } };
    });
    store = await openStore({});
    const [clerk, auditor] = writeAgents();
    server = await startServer({
      store,
      packages: [
        defineAgent({ name: "ledger-clerk", spec: clerk!, tools: [] }),
        defineAgent({ name: "ledger-auditor", spec: auditor!, tools: [] }),
      ],
      env: { ANTHROPIC_API_KEY: "sk-loopback", ANTHROPIC_BASE_URL: model.baseUrl },
      host: "127.0.0.1",
      port: 0,
      log: () => undefined,
    });
    const starts = [
      ["ledger-clerk", 1],
      ["ledger-clerk", 6],
      ["ledger-clerk", 2],
      ["ledger-auditor", 9],
      ["ledger-auditor", 3],
    ] as const;
    runIds = [];
    for (const [agent, size] of starts) {
      const response = await fetch(`${server.url}/v1/agents/${agent}/runs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ input: `What is the balance? size ${size}` }),
      });
      assert.equal(response.status, 202, await response.clone().text());
      runIds.push(((await response.json()) as { id: string }).id);
    }
    for (const id of runIds)
      await until(
        `run ${id}`,
        async () => (await get<{ status: string }>(`/v1/runs/${id}`)).status === "completed",
      );
    // The cost views read the journal's projection, which catches up on its own.
    await until("every run's cost in the projection", async () => {
      const top = await get<{ runs: { costUsd: number }[] }>("/v1/telemetry/top?by=cost&limit=50");
      return top.runs.filter((run) => run.costUsd > 0).length === runIds.length;
    });
    // 1.0.0 gets refund-5 wrong; 1.1.0 fixes it and gets balance-2 and balance-3 wrong.
    const judge = ledgerJudge(model.baseUrl);
    baseline = await storeEval(store, judge, "1.0.0", (n) => (n === 5 ? 0 : n * 2), null);
    current = await storeEval(store, judge, "1.1.0", (n) => (n === 2 || n === 3 ? -1 : n * 2), baseline);
    // First on four labels (too few: advisory), then on eight, one of which people and the judge disagree on.
    await storeCalibration(
      store,
      model.baseUrl,
      [
        ["2", "pass"],
        ["4", "pass"],
        ["-1", "fail"],
        ["-1", "fail"],
      ],
      new Date(Date.now() - 86_400_000).toISOString(),
    );
    await storeCalibration(
      store,
      model.baseUrl,
      [
        ["2", "pass"],
        ["4", "pass"],
        ["6", "pass"],
        ["8", "pass"],
        ["-1", "fail"],
        ["-1", "fail"],
        ["-1", "fail"],
        ["10", "fail"],
      ],
      new Date().toISOString(),
    );
    await until("production sampling's scores", async () => {
      const scores = await get<{ series: { count: number }[] }>(
        "/v1/agents/ledger-clerk/scores?type=evaluation&bucket=day",
      );
      return scores.series.reduce((sum, point) => sum + point.count, 0) === 3;
    });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await model?.close();
    await store?.close();
  });

  test("Costs shows spend by agent, model, phase and day as the API answers it, the costliest runs linking to them, and budget burn", async () => {
    const { page, problems, close } = await openPage(browser, `${server.url}/#/costs?range=7d`);
    try {
      const byAgentTable = page.getByRole("table", { name: "By agent" });
      await byAgentTable.waitFor();
      for (const by of ["agent", "model", "phase", "day"] as const) {
        const answer = await get<{ costs: ({ costUsd: number } & Record<string, string>)[] }>(
          `/v1/costs?by=${by}&since=7d`,
        );
        assert.ok(answer.costs.length > 0, by);
        const table = page.getByRole("table", {
          name: { agent: "By agent", model: "By model", phase: "By phase", day: "By day (UTC)" }[by],
        });
        for (const row of answer.costs) {
          const line = table
            .getByRole("row")
            .filter({ has: page.getByRole("rowheader", { name: row[by] ?? "", exact: true }) });
          assert.equal(
            await line.getByRole("cell").first().textContent(),
            formatUsd(row.costUsd),
            `${by} ${row[by]}`,
          );
        }
      }
      const byAgent = await get<{ costs: { costUsd: number }[] }>("/v1/costs?by=agent&since=7d");
      assert.equal(
        await page.getByTestId("costs-total").textContent(),
        formatUsd(byAgent.costs.reduce((sum, row) => sum + row.costUsd, 0)),
      );

      const budgets = await get<{ budgets: { scope: string; spentUsd: number; limitUsd: number }[] }>(
        "/v1/budgets",
      );
      const clerkBudget = budgets.budgets.find((budget) => budget.scope === "agent:ledger-clerk");
      assert.ok(clerkBudget && clerkBudget.spentUsd > 0, JSON.stringify(budgets));
      assert.equal(
        await page.getByTestId("budget-agent:ledger-clerk").textContent(),
        `${formatUsd(clerkBudget.spentUsd)} of ${formatUsd(2)} (${formatPercent(clerkBudget.spentUsd / 2)})`,
      );
      assert.ok(await page.getByTestId("budget-tenant:default").isVisible());

      const top = await get<{ runs: { runId: string; costUsd: number }[] }>(
        "/v1/telemetry/top?by=cost&limit=10&since=7d",
      );
      const topTable = page.getByRole("table", { name: "Most expensive runs" });
      const links = topTable.getByRole("link");
      assert.deepEqual(
        await links.allTextContents(),
        top.runs.map((run) => run.runId),
      );
      assert.deepEqual(
        (await topTable.getByRole("row").allTextContents())
          .slice(1)
          .map((text) => text.slice(text.lastIndexOf("$"))),
        top.runs.map((run) => formatUsd(run.costUsd)),
      );
      assert.deepEqual(await seriousViolations(page), []);
      await screenshot(page, "costs");

      // The range and agent are in the URL; an agent's row narrows the view to it.
      await page.getByLabel("Time range").selectOption("24h");
      await page.waitForURL(/range=24h/);
      await page.getByLabel("Agent").selectOption("ledger-auditor");
      await page.waitForURL(/agent=ledger-auditor/);
      const auditorTotal = (
        await get<{ costs: { costUsd: number }[] }>("/v1/costs?by=agent&since=24h&agent=ledger-auditor")
      ).costs;
      await page
        .getByTestId("costs-total")
        .filter({ hasText: formatUsd(auditorTotal[0]!.costUsd) })
        .waitFor();

      await page.getByLabel("Agent").selectOption("");
      await topTable.getByRole("link", { name: top.runs[0]!.runId }).click();
      await page.waitForURL((url) => url.hash === `#/runs/${top.runs[0]!.runId}`);
      assert.deepEqual(problems(), []);
    } finally {
      await close();
    }
  });

  test("Evals shows stored eval runs and gate verdicts, production scores, two runs compared case by case, and judge calibrations", async () => {
    const { page, problems, close } = await openPage(browser, `${server.url}/#/evals?agent=ledger-clerk`);
    try {
      const runsTable = page.getByRole("table", { name: "Eval runs over time" });
      await runsTable.waitFor();
      const listed = await get<{
        runs: { id: string; summary: { passed: number; total: number; passRate: number } }[];
      }>("/v1/agents/ledger-clerk/eval-runs");
      assert.deepEqual(
        listed.runs.map((run) => run.id),
        [current.id, baseline.id],
      );
      for (const run of listed.runs)
        assert.equal(
          await page.getByTestId(`pass-${run.id}`).textContent(),
          `${run.summary.passed} of ${run.summary.total} (${formatPercent(run.summary.passRate)})`,
        );

      const gate = await get<{ passed: boolean }>("/v1/agents/ledger-clerk/versions/1.1.0/eval-gate");
      const verdicts = page.getByRole("table", { name: "Gate verdicts" });
      await verdicts
        .getByRole("row", { name: /1\.1\.0/ })
        .getByText(gate.passed ? "passed" : "failed")
        .first()
        .waitFor();

      const scores = page.getByRole("table", { name: "Production scores per day" });
      await scores.waitFor();
      assert.match((await scores.getByRole("row").nth(1).textContent()) ?? "", /3/);

      // By default the newest run against the one before it, as the API pairs them.
      const comparison = await get<{
        cases: { caseId: string; change: string }[];
        overall: { regressed: number; improved: number };
      }>(`/v1/agents/ledger-clerk/eval-runs/${current.id}/comparison?baseline=${baseline.id}`);
      const cases = page.getByRole("table", { name: "Cases, changed verdicts first" });
      await cases.waitFor();
      const shown = await cases
        .getByRole("row")
        .evaluateAll((rows) =>
          rows
            .slice(1)
            .map((row) => [row.querySelector("th")?.textContent, row.querySelectorAll("td")[1]?.textContent]),
        );
      assert.deepEqual(
        shown,
        comparison.cases.map((row) => [row.caseId, row.change]),
      );
      assert.deepEqual(
        comparison.cases.filter((row) => row.change !== "same").map((row) => [row.caseId, row.change]),
        [
          ["balance-2", "regressed"],
          ["balance-3", "regressed"],
          ["refund-5", "improved"],
        ],
      );
      assert.match(
        (await page.getByTestId("comparison-overall").textContent()) ?? "",
        new RegExp(`${comparison.overall.regressed} regressed, ${comparison.overall.improved} improved`),
      );
      const judges = page.getByRole("table", { name: "Judges that graded this run" });
      const judgeRow = judges.getByRole("row", { name: /judge\.ledger-quality/ });
      await judgeRow.waitFor();
      assert.match(
        (await judgeRow.textContent()) ?? "",
        /advisory \(not calibrated\)6.*accurate 6\/6, plain 4\/6/,
      );

      // Each judge's latest calibration, its confusion matrices and its history, as the API answers them.
      const { calibrations } = await get<{ calibrations: StoredJudgeCalibration[] }>(
        "/v1/agents/ledger-clerk/judge-calibrations?judge=judge.ledger-quality",
      );
      const [latest, earlier] = calibrations;
      assert.ok(latest && earlier && calibrations.length === 2, JSON.stringify(calibrations));
      assert.deepEqual(
        [latest.trusted, latest.labels, latest.kappa, latest.agreement, earlier.trusted, earlier.labels],
        [true, 8, 0.75, 7 / 8, false, 4],
      );
      const headline = page.getByTestId("calibration-judge.ledger-quality");
      await headline.waitFor();
      assert.equal(
        await headline.textContent(),
        `κ ${latest.kappa.toFixed(3)} (95% interval ${latest.interval.low.toFixed(3)} to ${latest.interval.high.toFixed(3)}), agreement ${formatPercent(latest.agreement)}, ${latest.labels} labels: counts`,
      );
      const matrix = page.getByRole("table", { name: "Confusion matrix of judge.ledger-quality on plain" });
      const confusion = latest.criteria[0]!.confusion;
      for (const [row, label] of confusion.labels.entries())
        assert.deepEqual(
          await matrix
            .getByRole("row", { name: new RegExp(`^people: ${label}`) })
            .getByRole("cell")
            .allTextContents(),
          confusion.matrix[row]!.map(String),
        );
      assert.deepEqual(confusion.matrix, [
        [3, 1],
        [0, 4],
      ]);
      const history = page.getByRole("table", { name: "History of judge.ledger-quality" });
      assert.deepEqual(
        await history
          .getByRole("row")
          .evaluateAll((rows) => rows.slice(1).map((row) => row.lastElementChild?.textContent)),
        ["counts", "advisory"],
      );
      assert.deepEqual(await seriousViolations(page), []);
      await screenshot(page, "evals");
      await page
        .getByRole("heading", { name: "Judge calibrations" })
        .evaluate((heading) => heading.scrollIntoView());
      await screenshot(page, "evals-calibrations");

      // Swapping the two runs turns the regressions into improvements.
      await page.getByLabel("Compared run").selectOption(baseline.id);
      await page.waitForURL(new RegExp(`run=${baseline.id}`));
      await page.getByLabel("Baseline run").selectOption(current.id);
      await cases
        .getByRole("row", { name: /balance-2/ })
        .getByText("improved")
        .waitFor();
      assert.deepEqual(problems(), []);
    } finally {
      await close();
    }
  });
});
