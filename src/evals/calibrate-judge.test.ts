import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { createScriptedModelProvider } from "../models/scripted-model-provider.ts";
import { calibrateJudge, judgeAgreement, type LabelledItem, loadJudgeLabels } from "./calibrate-judge.ts";
import { CalibrationBar } from "./evals-section.ts";
import { judgeGrader } from "./judge-grader.ts";
import { seededRandom } from "./statistics.ts";

const bar = CalibrationBar.parse({});

describe("judge calibration", () => {
  test("the default bar is κ ≥ 0.70, lower bound ≥ 0.60 and at least 200 labels", () => {
    assert.deepEqual(bar, { minKappa: 0.7, minLowerBound: 0.6, minLabels: 200 });
  });

  test("a judge that agrees with people on every criterion is trusted; one weak criterion makes it advisory", async () => {
    const random = seededRandom(42);
    const items: LabelledItem[] = Array.from({ length: 240 }, (_, index) => ({
      id: `item-${index}`,
      input: `question ${index}`,
      answer: `answer ${index}`,
      labels: { accurate: random() < 0.5 ? "pass" : "fail", polite: random() < 0.5 ? "pass" : "fail" },
    }));
    const byAnswer = new Map(items.map((item) => [item.answer, item]));
    // The judge matches people on `accurate` 97% of the time and on `polite` only by chance.
    const judgeRandom = seededRandom(7);
    const model = createScriptedModelProvider({
      turns: (request) => {
        const answer = /Assistant \(completed\): (.*)/.exec(String(request.messages[0]?.content))?.[1] ?? "";
        const item = byAnswer.get(answer)!;
        const accurate =
          judgeRandom() < 0.97 ? item.labels.accurate === "pass" : item.labels.accurate !== "pass";
        const polite = judgeRandom() < 0.5;
        return {
          kind: "tool-calls",
          calls: [
            {
              callId: "v",
              tool: "submit_verdict",
              arguments: {
                criteria: {
                  accurate: { pass: accurate, rationale: "" },
                  polite: { pass: polite, rationale: "" },
                },
                rationale: "",
              },
            },
          ],
        };
      },
    });
    const rubric = {
      rubric: "r",
      criteria: [
        { name: "accurate", description: "a" },
        { name: "polite", description: "p" },
      ],
    };
    const calibration = await calibrateJudge({
      judge: judgeGrader({ name: "support", rubric, model, advisory: false }),
      items,
      bar,
    });
    const [accurate, polite] = calibration.criteria;
    assert.equal(accurate?.criterion, "accurate");
    assert.equal(accurate?.labels, 240);
    assert.ok(
      accurate!.kappa > 0.85 && accurate!.interval.low >= 0.6 && accurate!.meetsBar,
      JSON.stringify(accurate),
    );
    assert.equal(
      accurate!.confusion.matrix.flat().reduce((sum, count) => sum + count, 0),
      240,
    );
    assert.ok(Math.abs(polite!.kappa) < 0.2 && !polite!.meetsBar);
    assert.equal(calibration.trusted, false);
    assert.match(
      calibration.reasons.join(" "),
      /^polite: κ -?0\.\d+ < 0\.7 polite: lower bound -?0\.\d+ < 0\.6$/,
    );
  });

  test("too few labels keep even a perfect judge advisory", () => {
    const pairs = Array.from({ length: 50 }, (_, index) => ({
      criterion: "a",
      human: index % 2 ? "pass" : "fail",
      judge: index % 2 ? "pass" : "fail",
    }));
    const result = judgeAgreement({ judge: "j", pairs, bar });
    assert.equal(result.criteria[0]?.kappa, 1);
    assert.equal(result.trusted, false);
    assert.deepEqual(result.reasons, ["a: 50 labels < 200"]);
    assert.equal(judgeAgreement({ judge: "j", pairs, bar: { ...bar, minLabels: 50 } }).trusted, true);
  });

  test("human labels load from YAML or JSONL", async () => {
    const directory = await mkdtemp(join(tmpdir(), "keel-labels-"));
    const yaml = join(directory, "labels.yaml");
    await writeFile(yaml, "items:\n  - { id: a, input: q, answer: x, labels: { accurate: pass } }\n");
    assert.equal((await loadJudgeLabels(yaml))[0]?.labels.accurate, "pass");
    const jsonl = join(directory, "labels.jsonl");
    await writeFile(jsonl, '{"id":"b","input":"q","answer":"y","labels":{"accurate":"maybe"}}\n');
    await assert.rejects(loadJudgeLabels(jsonl), /labels\.accurate/);
  });
});
