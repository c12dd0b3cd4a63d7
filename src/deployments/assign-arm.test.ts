import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { assignArm, bucketOf, stickyKeyOf } from "./assign-arm.ts";

const KEYS = Array.from({ length: 10_000 }, (_, index) => `user-${index}@example.com`);

/** Within 4 standard deviations of a binomial's mean: a split this far off happens about once in 16,000 checks. */
function assertBinomial(count: number, trials: number, percent: number, label: string): void {
  const p = percent / 100;
  const mean = trials * p;
  const sd = Math.sqrt(trials * p * (1 - p));
  assert.ok(
    Math.abs(count - mean) <= 4 * sd,
    `${label}: ${count} of ${trials}, expected ${mean} ± ${4 * sd}`,
  );
}

describe("sticky assignment", () => {
  test("splits 10,000 keys in the stated proportions at every stage of a ramp, within binomial bounds", () => {
    for (const percent of [1, 5, 25, 50, 75, 100]) {
      const candidates = KEYS.filter(
        (key) => assignArm({ deploymentId: "dep_a", key, candidatePercent: percent }) === "candidate",
      ).length;
      if (percent === 100) assert.equal(candidates, KEYS.length);
      else assertBinomial(candidates, KEYS.length, percent, `${percent}%`);
    }
  });

  test("keeps a key on its arm on every call, and a key on the candidate at 5% there as the ramp rises", () => {
    const at = (percent: number) =>
      new Set(
        KEYS.filter(
          (key) => assignArm({ deploymentId: "dep_a", key, candidatePercent: percent }) === "candidate",
        ),
      );
    const ramp = [5, 25, 50, 100].map(at);
    for (let stage = 1; stage < ramp.length; stage++)
      for (const key of ramp[stage - 1]!) assert.ok(ramp[stage]!.has(key), `${key} left the candidate`);
    for (const key of KEYS.slice(0, 1_000))
      assert.equal(bucketOf("dep_a", key), bucketOf("dep_a", key), "the same key falls at the same point");
  });

  test("salts by deployment: two deployments split the same users independently", () => {
    const onCandidate = (deploymentId: string) =>
      KEYS.map((key) => assignArm({ deploymentId, key, candidatePercent: 50 }) === "candidate");
    const first = onCandidate("dep_a");
    const second = onCandidate("dep_b");
    const both = first.filter((candidate, index) => candidate && second[index]).length;
    assertBinomial(both, KEYS.length, 25, "on the candidate in both");
  });

  test("takes the key the stickiness names, falling back from session to the run's own", () => {
    const principalSubject = "key:ops";
    assert.deepEqual(stickyKeyOf({ stickiness: "user", principalSubject, subject: "ana" }), {
      key: "ana",
      keyKind: "user",
    });
    assert.deepEqual(stickyKeyOf({ stickiness: "user", principalSubject }), {
      key: "key:ops",
      keyKind: "user",
    });
    assert.deepEqual(stickyKeyOf({ stickiness: "session", principalSubject, sessionId: "ses_1" }), {
      key: "ses_1",
      keyKind: "session",
    });
    assert.deepEqual(stickyKeyOf({ stickiness: "session", principalSubject, idempotencyKey: "k1" }), {
      key: "k1",
      keyKind: "run",
    });
    const fresh = stickyKeyOf({ stickiness: "run", principalSubject });
    assert.equal(fresh.keyKind, "run");
    assert.notEqual(fresh.key, stickyKeyOf({ stickiness: "run", principalSubject }).key);
  });
});
