import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { GuardsSection } from "./guards-section.ts";

describe("the guards section", () => {
  test("defaults: no model detectors, any, fail closed, outbound tools gated after a finding", () => {
    const guards = GuardsSection.parse({});
    assert.deepEqual(guards.injection, {
      builtIn: "combined",
      detectors: [],
      combine: "any",
      onError: "flag",
    });
    assert.deepEqual(guards.toolResults, { injection: "review", taint: "outbound" });
  });

  test("a classifier needs its server; thresholds, labels and timeouts default", () => {
    const missing = GuardsSection.safeParse({
      injection: { detectors: [{ kind: "classifier", provider: "vllm", id: "deberta" }] },
    });
    assert.equal(missing.success, false);
    assert.deepEqual(
      missing.error?.issues.map((issue) => issue.path.join(".")),
      ["injection.detectors.0.baseUrl"],
    );
    const guards = GuardsSection.parse({
      injection: {
        detectors: [
          {
            kind: "classifier",
            provider: "huggingface",
            id: "deberta",
            baseUrl: "https://hf.example/models/x",
          },
          { kind: "judge", provider: "openai", id: "gpt-4o-mini", timeout: "800ms" },
        ],
      },
    });
    assert.deepEqual(
      guards.injection.detectors.map((detector) => [
        detector.kind,
        detector.threshold,
        detector.timeout,
        detector.kind === "classifier" ? detector.positiveLabel : null,
      ]),
      [
        ["classifier", 0.9, 5_000, "INJECTION"],
        ["judge", 0.5, 800, null],
      ],
    );
  });

  test("refuses an unknown detector kind, a threshold out of range and an unknown taint setting", () => {
    for (const input of [
      { injection: { detectors: [{ kind: "regex", provider: "x", id: "y" }] } },
      { injection: { detectors: [{ kind: "judge", provider: "openai", id: "m", threshold: 1.5 }] } },
      { toolResults: { taint: "everything" } },
    ]) {
      assert.equal(GuardsSection.safeParse(input).success, false, JSON.stringify(input));
    }
  });
});
