import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { captureIo } from "../../test/support/capture-io.ts";
import { main } from "./main.ts";

const packages = new URL("../../test/fixtures/workflow-packages/index.ts", import.meta.url).pathname;

/**
 * Run `keel` in this process, offline as CI runs it; resolves with its exit code and output, whatever the code. The
 * command reads only the environment it is given, so a node process of its own only repeated the start-up.
 */
async function keel(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureIo({ DATABASE_URL: "", ANTHROPIC_API_KEY: "", CI: "true" });
  const code = await main(args, io);
  return { code, stdout: io.stdout.join("\n"), stderr: io.stderr.join("\n") };
}

/** A case whose expected node path the workflow does not take: the gate must fail on the path grader. */
const WRONG_PATH = `dataset: wrong-path
cases:
  - id: small-claim-skips-review
    input: '{"claimId": "C-1"}'
    expect: { status: completed, nodes: { path: [lookup, route, review, pay, done] } }
`;

/**
 * Two vendors through vendor-diligence's four parallel checks (3 s each): V-103's news search sleeps 8 s, so only
 * its news check may be reported not checked; V-101's four checks all finish.
 */
const SLOW_BRANCH = `dataset: slow-branch
cases:
  - id: slow-news
    input: V-103
    expect:
      status: completed
      output: { contains: ["news: NOT CHECKED", "certifications: CLEAR", "Could not check: news."] }
  - id: all-clear
    input: V-101
    expect: { status: completed, output: { contains: ["All four checks completed."] } }
`;

describe("keel eval of a workflow", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "keel-eval-workflow-"));
    await writeFile(join(dir, "wrong-path.yaml"), WRONG_PATH);
    await writeFile(join(dir, "slow-branch.yaml"), SLOW_BRANCH);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("runs the workflow's eval set with the agents it hands to served beside it, and exits 0 when the gate passes", async () => {
    const result = await keel([
      "eval",
      "expense-claim",
      "--packages",
      packages,
      "--gate",
      "--results-dir",
      join(dir, "results"),
    ]);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /4\/4 passed \(100\.0%\)/);
    assert.match(result.stdout, /model: offline: each decide node's rules table/);
    assert.match(result.stdout, /gate: PASSED/);
  });

  test("fails the gate (exit 1) when a case's node path is not the path the run took, saying which it took", async () => {
    const result = await keel([
      "eval",
      "expense-claim",
      "--packages",
      packages,
      "--dataset",
      join(dir, "wrong-path.yaml"),
      "--gate",
      "--results-dir",
      join(dir, "results"),
    ]);
    assert.equal(result.code, 1, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /gate: FAILED/);
    assert.match(
      result.stdout,
      /expected the path lookup → route → review → pay → done, took lookup → route → pay → done/,
    );
  });

  test("gives each case's run tree its own worker slots, so one case at a time still meets its branches' deadlines", async () => {
    // With one slot per case, the sleeping news check held the only slot: the workflow could not wake at the 3 s
    // deadline, and a check still queued behind it was the one reported not checked.
    const result = await keel([
      "eval",
      "vendor-diligence",
      "--dataset",
      join(dir, "slow-branch.yaml"),
      "--concurrency",
      "1",
      "--gate",
      "--results-dir",
      join(dir, "results"),
    ]);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /2\/2 passed \(100\.0%\)/);
  });
});
