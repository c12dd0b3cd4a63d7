import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { captureIo } from "../../test/support/capture-io.ts";
import { createTestDatabase, testDatabaseServerUrl } from "../../test/support/test-database.ts";
import { sqlJudgeCalibrationStore } from "../evals/judge-calibration-store.ts";
import { JUDGE_TOOL } from "../evals/judge-grader.ts";
import { loadDataset } from "../evals/load-dataset.ts";
import { runEval } from "../evals/run-eval.ts";
import { startLoopbackProvider } from "../models/loopback/loopback-provider-server.ts";
import type { ModelProvider } from "../models/model-provider.ts";
import { openStore } from "../store/open-store.ts";
import { formatCalibration } from "./eval-calibrate-command.ts";
import { openEvalHarness } from "./eval-harness.ts";
import { main } from "./main.ts";

const SMALL = `dataset: small
cases:
  - { id: shipped, input: Where is my order 1042?, category: status, expect: { status: completed, tools: { called: [get_order] }, output: { contains: 1ZLH42A80312104284 } } }
  - { id: held, input: I want a refund for order 1017, category: refund, expect: { status: suspended, governance: { issue_refund: escalated } } }
  - { id: faq, input: Do gift cards expire?, category: faq, expect: { tools: { called: [search_kb] } } }
`;

async function directory(): Promise<string> {
  return await mkdtemp(join(tmpdir(), "keel-eval-cli-"));
}

describe("keel eval", () => {
  test("runs a dataset offline, stores the result, writes JSON and JUnit, and passes the gate", async () => {
    const dir = await directory();
    await writeFile(join(dir, "small.yaml"), SMALL);
    const io = captureIo({ CI: "true" });
    const code = await main(
      [
        "eval",
        "support-triage",
        "--dataset",
        join(dir, "small.yaml"),
        "--gate",
        "--results-dir",
        join(dir, "results"),
        "--out",
        join(dir, "out"),
        "--concurrency",
        "4",
      ],
      io,
    );
    assert.equal(code, 0, io.stderr.join("\n"));
    const text = io.stdout.join("\n");
    assert.match(text, /3\/3 passed \(100\.0%\)/);
    assert.match(text, /model: rules — offline stand-in/);
    assert.match(text, /gate: PASSED/);
    assert.ok(existsSync(join(dir, "out", "small.junit.xml")));
    const exported = JSON.parse(await readFile(join(dir, "out", "small.json"), "utf8"));
    assert.equal(exported.gate.passed, true);
    assert.equal(exported.result.cases.length, 3);
  });

  test("fails the gate (exit 1) below the bar, and reports a regression against a baseline file", async () => {
    const dir = await directory();
    const broken = SMALL.replace("1ZLH42A80312104284", "a tracking number nobody has");
    await writeFile(join(dir, "small.yaml"), broken);
    const baselineRun = await main(
      [
        "eval",
        "support-triage",
        "--dataset",
        join(dir, "small.yaml"),
        "--results-dir",
        join(dir, "results"),
        "--out",
        join(dir, "base"),
        "--json",
      ],
      captureIo(),
    );
    assert.equal(baselineRun, 0, "without --gate the exit code does not depend on the score");
    const baseline = JSON.parse(await readFile(join(dir, "base", "small.json"), "utf8"));
    baseline.result.cases[0].passed = true;
    await writeFile(join(dir, "baseline.json"), JSON.stringify(baseline));
    const io = captureIo();
    const code = await main(
      [
        "eval",
        "support-triage",
        "--dataset",
        join(dir, "small.yaml"),
        "--gate",
        "--baseline",
        join(dir, "baseline.json"),
        "--results-dir",
        join(dir, "results"),
      ],
      io,
    );
    assert.equal(code, 1);
    const text = io.stdout.join("\n");
    assert.match(text, /2\/3 passed/);
    assert.match(text, /↓ shipped \[status\]/);
    assert.match(text, /gate: FAILED\n {2}- pass rate 66\.7% is below the bar of 90\.0%/);
  });

  test("a baseline looked up in a results directory that does not exist is named as a wrong path, before any case runs", async () => {
    const missing = join(await directory(), "no-results");
    const io = captureIo({ CI: "true" });
    assert.equal(
      await main(["eval", "support-triage", "--baseline", "1.0.0", "--results-dir", missing], io),
      1,
    );
    assert.deepEqual(io.stderr, [
      `keel: --baseline 1.0.0 is looked up in the eval results, but the results directory ${missing} does not exist: pass the one earlier runs wrote to with --results-dir (or KEEL_EVAL_RESULTS_DIR)`,
    ]);
    assert.equal(io.stdout.length, 0, "no dataset may have run");
    assert.equal(existsSync(missing), false);
  });

  test("refuses bad flags with usage (exit 2)", async () => {
    const io = captureIo();
    assert.equal(await main(["eval"], io), 2);
    assert.match(io.stderr.join("\n"), /keel eval <agent>/);
    assert.equal(await main(["eval", "support-triage", "--recording", "sometimes"], captureIo()), 2);
    assert.equal(await main(["eval", "support-triage", "--bogus"], captureIo()), 2);
    assert.equal(await main(["feedback", "run_x", "meh"], captureIo()), 2);
  });

  test("records a live model's turns once, then replays them in CI without calling it", async () => {
    const dir = await directory();
    const recordings = join(dir, "recordings.json");
    await writeFile(join(dir, "small.yaml"), SMALL);
    let calls = 0;
    const live = (chosen: ModelProvider) => ({
      provider: {
        ...chosen,
        provider: "anthropic",
        offline: false,
        generate: async (request: Parameters<ModelProvider["generate"]>[0]) => {
          calls += 1;
          return await chosen.generate(request);
        },
      },
      label: "live",
    });
    const packagesModule = new URL("../../examples/index.ts", import.meta.url).pathname;
    const dataset = await loadDataset(join(dir, "small.yaml"));
    const recording = await openEvalHarness({
      packagesModule,
      agent: "support-triage",
      env: {},
      concurrency: 4,
      recording: "record",
      recordingsFile: recordings,
      model: live,
    });
    const recorded = await runEval({ dataset, target: recording.target });
    await recording.close();
    const made = calls;
    assert.ok(made >= 6, `${made} model calls recorded`);
    assert.ok(existsSync(recordings));

    const replay = await openEvalHarness({
      packagesModule,
      agent: "support-triage",
      env: {},
      concurrency: 4,
      recording: "replay",
      recordingsFile: recordings,
      model: live,
    });
    assert.match(replay.target.model, /^replay of recorded turns/);
    const replayed = await runEval({ dataset, target: replay.target });
    await replay.close();
    assert.equal(calls, made, "the replay called no model");
    assert.deepEqual(
      replayed.cases.map((entry) => [entry.caseId, entry.passed]),
      recorded.cases.map((entry) => [entry.caseId, entry.passed]),
    );
    assert.equal(replay.recorders[0]?.stats.replayed, made);
  });
});

describe("keel eval calibrate", () => {
  test("says when the agent has no judges to calibrate", async () => {
    const io = captureIo();
    assert.equal(await main(["eval", "calibrate", "support-triage"], io), 1);
    assert.match(io.stderr.join("\n"), /support-triage has no judges in evals\.judges/);
  });

  test("prints agreement per criterion with the confusion matrix", () => {
    const text = formatCalibration({
      judge: "judge.quality",
      trusted: false,
      criteria: [
        {
          criterion: "accurate",
          labels: 240,
          kappa: 0.91,
          interval: { low: 0.85, high: 0.96 },
          confusion: {
            labels: ["fail", "pass"],
            matrix: [
              [110, 4],
              [6, 120],
            ],
          },
          meetsBar: true,
        },
      ],
      reasons: ["polite: κ 0.400 < 0.7"],
    });
    assert.match(text, /^judge\.quality: advisory — cannot gate/);
    assert.match(text, /accurate: 240 labels, κ = 0\.910 \(95% CI 0\.850–0\.960\) ✓/);
    assert.match(text, /fail {14}\s+110\s+4/);
    assert.match(text, /- polite: κ 0\.400 < 0\.7/);
  });
});

describe("keel eval calibrate with a database", () => {
  const serverUrl = testDatabaseServerUrl();
  test("stores each judge's calibration in keel_judge_calibrations when DATABASE_URL is set", {
    skip: serverUrl === null ? "no PostgreSQL on this machine" : false,
  }, async () => {
    const dir = await directory();
    const example = new URL("../../examples/support-triage/", import.meta.url).pathname;
    await cp(example, join(dir, "agent"), {
      recursive: true,
      filter: (source) => !source.startsWith(join(example, "evals")),
    });
    const spec = await readFile(join(dir, "agent", "agent.yaml"), "utf8");
    await writeFile(
      join(dir, "agent", "agent.yaml"),
      `${spec.slice(0, spec.indexOf("\n# Evals"))}
evals:
  judgeModel: { provider: anthropic, id: claude-haiku-4-5-20251001 }
  calibration: { minKappa: 0.7, minLowerBound: 0, minLabels: 4 }
  judges:
    quality:
      rubric: A helpful support answer.
      criteria: [{ name: accurate, description: states the order's real status }]
      calibration: ./labels.yaml
`,
    );
    // People passed the answers that say "shipped"; the judge agrees on all but one.
    const answers = ["shipped", "shipped", "shipped", "lost", "lost", "lost", "shipped late", "lost twice"];
    const people = ["pass", "pass", "pass", "fail", "fail", "fail", "pass", "fail"];
    await writeFile(
      join(dir, "agent", "labels.yaml"),
      answers
        .map(
          (answer, index) =>
            `- { id: item-${index}, input: Where is my order?, answer: ${answer}, labels: { accurate: ${people[index]} } }`,
        )
        .join("\n"),
    );
    await writeFile(
      join(dir, "packages.ts"),
      `import { supportTriage } from ${JSON.stringify(join(example, "index.ts"))};\nexport const agentPackages = [{ ...supportTriage, specFile: ${JSON.stringify(join(dir, "agent", "agent.yaml"))} }];\n`,
    );
    const model = await startLoopbackProvider({ wire: "anthropic" });
    model.setDefault((request) => {
      const text = JSON.stringify(request.body.messages);
      const pass = text.includes("shipped") && !text.includes("shipped late");
      const verdict = { criteria: { accurate: { pass, rationale: "status" } }, rationale: "graded" };
      return { reply: { toolCalls: [{ id: "verdict", name: JUDGE_TOOL, arguments: verdict }] } };
    });
    const databaseUrl = await createTestDatabase(serverUrl!);
    try {
      const io = captureIo({
        DATABASE_URL: databaseUrl,
        ANTHROPIC_API_KEY: "sk-loopback",
        ANTHROPIC_BASE_URL: model.baseUrl,
      });
      const code = await main(
        ["eval", "calibrate", "support-triage", "--packages", join(dir, "packages.ts")],
        io,
      );
      assert.equal(code, 0, [...io.stdout, ...io.stderr].join("\n"));
      assert.match(io.stdout.join("\n"), /calibration stored in the database \(keel_judge_calibrations\)/);
      const store = await openStore({ databaseUrl });
      try {
        const [stored, ...rest] = await sqlJudgeCalibrationStore(store.sql).list({ agent: "support-triage" });
        assert.equal(rest.length, 0);
        assert.equal(stored?.judge, "judge.quality");
        assert.equal(stored?.labels, 8);
        assert.equal(stored?.trusted, true);
        assert.equal(stored?.kappa, 0.75);
        assert.equal(stored?.agreement, 7 / 8);
        assert.deepEqual(stored?.criteria[0]?.confusion, {
          labels: ["fail", "pass"],
          matrix: [
            [4, 0],
            [1, 3],
          ],
        });
        assert.equal(stored?.labelsFile, join(dir, "agent", "labels.yaml"));
        // Without DATABASE_URL the calibration is printed only, and the command says so.
        const printed = captureIo({ ANTHROPIC_API_KEY: "sk-loopback", ANTHROPIC_BASE_URL: model.baseUrl });
        assert.equal(
          await main(
            ["eval", "calibrate", "support-triage", "--packages", join(dir, "packages.ts")],
            printed,
          ),
          0,
        );
        assert.match(printed.stdout.join("\n"), /calibration not stored: set DATABASE_URL/);
        assert.equal((await sqlJudgeCalibrationStore(store.sql).list({ agent: "support-triage" })).length, 1);
      } finally {
        await store.close();
      }
    } finally {
      await model.close();
    }
  });
});

describe("keel eval with LLM judges", () => {
  test("a judge whose model is unavailable offline is reported as advisory and does not decide the gate", async () => {
    const dir = await directory();
    const example = new URL("../../examples/support-triage/", import.meta.url).pathname;
    await cp(example, join(dir, "agent"), {
      recursive: true,
      filter: (source) => !source.startsWith(join(example, "evals")),
    });
    const spec = await readFile(join(dir, "agent", "agent.yaml"), "utf8");
    await writeFile(
      join(dir, "agent", "agent.yaml"),
      `${spec.slice(0, spec.indexOf("\n# Evals"))}
evals:
  judgeModel: { provider: anthropic, id: claude-haiku-4-5-20251001 }
  judges:
    quality:
      rubric: A helpful support answer.
      criteria: [{ name: accurate, description: states the order's real status }]
`,
    );
    await writeFile(
      join(dir, "packages.ts"),
      `import { supportTriage } from ${JSON.stringify(join(example, "index.ts"))};\nexport const agentPackages = [{ ...supportTriage, specFile: ${JSON.stringify(join(dir, "agent", "agent.yaml"))} }];\n`,
    );
    await writeFile(
      join(dir, "judged.yaml"),
      "dataset: judged\ncases:\n  - { id: shipped, input: Where is my order 1042?, expect: { status: completed, judge: [quality] } }\n",
    );
    const io = captureIo({ CI: "true" });
    const code = await main(
      [
        "eval",
        "support-triage",
        "--packages",
        join(dir, "packages.ts"),
        "--dataset",
        join(dir, "judged.yaml"),
        "--gate",
        "--results-dir",
        join(dir, "results"),
        "--json",
      ],
      io,
    );
    assert.equal(code, 0, io.stderr.join("\n"));
    const [stored] = JSON.parse(io.stdout.join("\n")) as [
      {
        result: {
          advisoryJudges: string[];
          cases: { passed: boolean; grades: { grader: string; advisory?: boolean; reason: string }[] }[];
        };
      },
    ];
    assert.deepEqual(stored.result.advisoryJudges, ["judge.quality"]);
    const judge = stored.result.cases[0]?.grades.find((grade) => grade.grader === "judge.quality");
    assert.equal(judge?.advisory, true);
    assert.match(judge?.reason ?? "", /no judge model is available/);
    assert.equal(stored.result.cases[0]?.passed, true, "the advisory judge did not decide the case");
  });
});
