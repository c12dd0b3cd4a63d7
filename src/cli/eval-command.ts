import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { KeelError } from "../errors/index.ts";
import type { EvalRunResult, Grader, JudgeRubric } from "../evals/index.ts";
import {
  calibrateJudge,
  compareRuns,
  type Dataset,
  decideGate,
  defaultBaseline,
  directoryEvalResultStore,
  type EvalResultStore,
  exportJunit,
  formatEvalReport,
  type GateResult,
  judgeGrader,
  loadDataset,
  loadJudgeLabels,
  progressReporter,
  runEval,
  type StoredEvalRun,
  sqlEvalResultStore,
} from "../evals/index.ts";
import { openStore } from "../store/index.ts";
import type { CliIo } from "./cli-io.ts";
import { type EvalHarness, type HarnessRecording, openEvalHarness } from "./eval-harness.ts";
import { checkDatabaseUrl } from "./open-cli-store.ts";

/** The parsed flags of `keel eval <agent>`. */
export type EvalCommandOptions = {
  io: CliIo;
  agent: string;
  packagesModule: string;
  datasets: readonly string[];
  baseline?: string;
  gate: boolean;
  concurrency: number;
  recording?: HarnessRecording;
  /** Folder for `<dataset>.json` and `<dataset>.junit.xml`. */
  out?: string;
  resultsDir: string;
  tags: readonly string[];
  json: boolean;
  /** Custom graders a composition can pass in (the CLI has none of its own). */
  custom?: ReadonlyMap<string, Grader>;
};

/**
 * `keel eval <agent>`: run the agent's datasets (or `--dataset` files) through the agent offline, report them,
 * store the results, compare with a baseline and, with `--gate`, exit 1 when any dataset fails its gate.
 */
export async function evalCommand(options: EvalCommandOptions): Promise<number> {
  const { io } = options;
  const recording = options.recording ?? (io.env.CI === "true" ? "replay" : "auto");
  const baseline = options.baseline;
  // A baseline named by eval run id or version is read from the results: a missing folder is a wrong path, not
  // "no such baseline" (results are written, and the folder made, only after the cases have run).
  if (
    baseline !== undefined &&
    !io.env.DATABASE_URL &&
    !(baseline.endsWith(".json") && existsSync(baseline)) &&
    !existsSync(options.resultsDir)
  ) {
    throw new KeelError(
      "not_found",
      `--baseline ${baseline} is looked up in the eval results, but the results directory ${resolve(options.resultsDir)} does not exist: pass the one earlier runs wrote to with --results-dir (or KEEL_EVAL_RESULTS_DIR)`,
    );
  }
  // The result store first: a DATABASE_URL that cannot be used fails before the harness starts its worker.
  const results = await openResultStore(io, options.resultsDir);
  let harness: EvalHarness;
  try {
    harness = await openEvalHarness({
      packagesModule: options.packagesModule,
      agent: options.agent,
      env: io.env,
      concurrency: options.concurrency,
      recording,
    });
  } catch (error) {
    await results.close();
    throw error;
  }
  let failed = false;
  try {
    const files =
      options.datasets.length > 0
        ? options.datasets.map((file) => resolve(file))
        : harness.evals.datasets.map((file) => resolve(harness.dir, file));
    if (files.length === 0)
      throw new KeelError(
        "invalid_request",
        `agent ${options.agent} lists no evals.datasets; pass --dataset <file>`,
      );
    const custom = new Map([...harness.custom, ...(options.custom ?? [])]);
    const outputs: StoredEvalRun[] = [];
    for (const file of files) {
      const dataset = await loadDataset(file);
      const judges = await buildJudges(harness, dataset, io);
      const result = await runEval({
        dataset,
        target: harness.target,
        graders: { judges, custom },
        concurrency: options.concurrency,
        filter: options.tags,
        onProgress: progressReporter({
          write: (text) => process.stderr.write(text),
          interactive: io.isTty && io.env.CI !== "true",
          label: dataset.dataset,
        }),
      });
      const baseline = await findBaseline(results.store, result, options.baseline);
      const comparison = baseline ? compareRuns(baseline, result) : null;
      const gate: GateResult | null = options.gate
        ? decideGate(result, comparison, harness.evals.gate)
        : null;
      await results.store.save({ result, gate });
      outputs.push({ result, gate });
      if (gate && !gate.passed) failed = true;
      if (!options.json) io.out(`${formatEvalReport({ result, comparison, gate })}\n`);
      if (options.out) {
        await mkdir(options.out, { recursive: true });
        await writeFile(
          join(options.out, `${dataset.dataset}.json`),
          `${JSON.stringify({ result, comparison, gate }, null, 1)}\n`,
        );
        await writeFile(join(options.out, `${dataset.dataset}.junit.xml`), exportJunit(result));
      }
    }
    for (const recorder of harness.recorders) {
      const { replayed, recorded, drifted } = recorder.stats;
      if (replayed + recorded > 0 && !options.json)
        io.out(
          `model recording: ${replayed} turns replayed (${drifted} with a changed request), ${recorded} recorded`,
        );
    }
    if (options.json) io.out(JSON.stringify(outputs, null, 2));
    if (!options.json) io.out(`results stored in ${results.where}`);
  } finally {
    await harness.close();
    await results.close();
  }
  return failed ? 1 : 0;
}

/** Judges of the dataset and the spec; each is advisory unless its calibration labels clear the bar. */
async function buildJudges(harness: EvalHarness, dataset: Dataset, io: CliIo): Promise<Map<string, Grader>> {
  const rubrics: Record<string, JudgeRubric> = { ...harness.evals.judges, ...dataset.judges };
  const judges = new Map<string, Grader>();
  for (const [name, rubric] of Object.entries(rubrics)) {
    const model = harness.judgeModel;
    if (!model) {
      judges.set(name, {
        name: `judge.${name}`,
        kind: "judge",
        grade: () => ({
          grader: `judge.${name}`,
          kind: "judge",
          passed: false,
          score: 0,
          advisory: true,
          reason: "no judge model is available (set evals.judgeModel and its key, or record its turns)",
        }),
      });
      continue;
    }
    let advisory = true;
    if (rubric.calibration) {
      const labels = await loadJudgeLabels(resolve(harness.dir, rubric.calibration));
      const calibration = await calibrateJudge({
        judge: judgeGrader({ name, rubric, model, advisory: false }),
        items: labels,
        bar: harness.evals.calibration,
      });
      advisory = !calibration.trusted;
      io.err(
        `judge ${name}: ${calibration.trusted ? "calibrated" : `advisory (${calibration.reasons.join("; ")})`}`,
      );
    }
    judges.set(name, judgeGrader({ name, rubric, model, advisory }));
  }
  return judges;
}

/**
 * The run to compare with: a results file, an eval run id, or a version (its latest run of this dataset); by
 * default the latest run of this dataset by another version that passed its gate.
 */
async function findBaseline(
  store: EvalResultStore,
  result: EvalRunResult,
  baseline: string | undefined,
): Promise<EvalRunResult | null> {
  if (baseline !== undefined) {
    if (baseline.endsWith(".json") && existsSync(baseline)) {
      const parsed = JSON.parse(await readFile(baseline, "utf8")) as {
        result?: EvalRunResult;
      } & Partial<EvalRunResult>;
      return parsed.result ?? (parsed as EvalRunResult);
    }
    const byId = await store.get(baseline);
    if (byId) return byId.result;
    const [byVersion] = await store.list({
      agent: result.agent,
      version: baseline,
      dataset: result.dataset.name,
      limit: 1,
    });
    if (byVersion) return byVersion.result;
    throw new KeelError(
      "not_found",
      `no baseline "${baseline}": not a results file, an eval run id or a version with results for ${result.dataset.name}`,
    );
  }
  return await defaultBaseline(store, result);
}

/** Results go to the database when DATABASE_URL is set, else to a folder of JSON files. */
async function openResultStore(
  io: CliIo,
  directory: string,
): Promise<{ store: EvalResultStore; where: string; close(): Promise<void> }> {
  const databaseUrl = io.env.DATABASE_URL;
  if (databaseUrl) {
    await checkDatabaseUrl(databaseUrl);
    const store = await openStore({ databaseUrl });
    return {
      store: sqlEvalResultStore(store.sql),
      where: "the database (keel_eval_runs)",
      close: () => store.close(),
    };
  }
  return { store: directoryEvalResultStore(directory), where: directory, close: async () => undefined };
}
