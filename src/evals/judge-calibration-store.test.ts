import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { testStores } from "../../test/support/test-database.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { judgeAgreement } from "./calibrate-judge.ts";
import {
  judgeCalibrationRecord,
  observedAgreement,
  sqlJudgeCalibrationStore,
} from "./judge-calibration-store.ts";

const BAR = { minKappa: 0.7, minLowerBound: 0.6, minLabels: 4 };
const RUBRIC = {
  rubric: "A correct answer.",
  criteria: [
    { name: "accurate", description: "right" },
    { name: "polite", description: "kind" },
  ],
};

/** Eight labelled items: the judge matches people on every "accurate" label and on six of eight "polite" ones. */
function calibration(judge: string) {
  const people = ["pass", "pass", "pass", "pass", "fail", "fail", "fail", "fail"];
  const polite = ["pass", "pass", "pass", "fail", "fail", "fail", "fail", "pass"];
  return judgeAgreement({
    judge,
    pairs: people.flatMap((human, index) => [
      { criterion: "accurate", human, judge: human },
      { criterion: "polite", human, judge: polite[index]! },
    ]),
    bar: BAR,
  });
}

function record(judge: string, at: string) {
  return judgeCalibrationRecord({
    agent: "refunder",
    version: "1.2.0",
    rubric: RUBRIC,
    labelsFile: "/agent/evals/labels.yaml",
    items: Array.from({ length: 8 }, (_, index) => ({ id: `item-${index}` })),
    calibration: calibration(judge),
    bar: BAR,
    at: new Date(at),
  });
}

test("a stored calibration's headline is its weakest criterion, with the share of labels the judge matched", () => {
  const stored = record("judge.quality", "2026-01-01T00:00:00.000Z");
  assert.equal(stored.trusted, false);
  assert.equal(stored.labels, 8);
  assert.deepEqual(
    stored.criteria.map((criterion) => [criterion.criterion, criterion.kappa, criterion.agreement]),
    [
      ["accurate", 1, 1],
      ["polite", 0.5, 0.75],
    ],
  );
  assert.equal(stored.kappa, 0.5);
  assert.equal(stored.agreement, 0.75);
  assert.deepEqual(stored.interval, stored.criteria[1]?.interval);
  assert.match(stored.rubricHash, /^[0-9a-f]{64}$/);
  assert.equal(observedAgreement({ labels: [], matrix: [] }), 0);
});

for (const kind of testStores()) {
  describe(`judge calibrations on ${kind.name}`, () => {
    let store: SqlStore;
    before(async () => {
      store = await kind.open();
    });
    after(async () => {
      await store?.close();
    });

    test("are stored in keel_judge_calibrations and listed newest first, per agent and judge", async () => {
      const calibrations = sqlJudgeCalibrationStore(store.sql);
      const first = record("judge.quality", "2026-01-01T00:00:00.000Z");
      const second = record("judge.quality", "2026-01-02T00:00:00.000Z");
      const other = record("judge.tone", "2026-01-03T00:00:00.000Z");
      for (const calibration of [first, second, other]) await calibrations.save(calibration);
      await calibrations.save({
        ...record("judge.quality", "2026-01-04T00:00:00.000Z"),
        agent: "someone-else",
      });

      const all = await calibrations.list({ agent: "refunder" });
      assert.deepEqual(
        all.map((calibration) => calibration.id),
        [other.id, second.id, first.id],
      );
      assert.deepEqual(all[1], second, "read back as written, the confusion matrices included");
      assert.deepEqual(
        (await calibrations.list({ agent: "refunder", judge: "judge.quality", limit: 1 })).map(
          (calibration) => calibration.id,
        ),
        [second.id],
      );
      assert.deepEqual(await calibrations.list({ agent: "nobody" }), []);
    });
  });
}
