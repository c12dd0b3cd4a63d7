import { resolve } from "node:path";
import { KeelError } from "../errors/index.ts";
import {
  calibrateJudge,
  type JudgeCalibration,
  type JudgeCalibrationStore,
  judgeCalibrationRecord,
  judgeGrader,
  loadJudgeLabels,
  sqlJudgeCalibrationStore,
} from "../evals/index.ts";
import { openStore } from "../store/index.ts";
import type { CliIo } from "./cli-io.ts";
import { type EvalHarness, type HarnessRecording, openEvalHarness } from "./eval-harness.ts";
import { checkDatabaseUrl } from "./open-cli-store.ts";

/**
 * `keel eval calibrate <agent> [--judge NAME] [--labels F]`: grade human-labelled items with each judge and print
 * the agreement per criterion (Cohen's kappa, its bootstrap interval, the confusion matrix). Exit 0 when every
 * judge clears the bar, 1 when any stays advisory. With `DATABASE_URL` each judge's calibration is stored
 * (`keel_judge_calibrations`), as `keel eval` stores its runs, for the API and the console's Evals view.
 */
export async function evalCalibrateCommand(options: {
  io: CliIo;
  agent: string;
  packagesModule: string;
  judge?: string;
  labels?: string;
  recording: HarnessRecording;
  json: boolean;
}): Promise<number> {
  const { io } = options;
  // The store first: a DATABASE_URL that cannot be used fails before the judge is asked anything.
  const stored = await openCalibrationStore(io);
  let harness: EvalHarness;
  try {
    harness = await openEvalHarness({
      packagesModule: options.packagesModule,
      agent: options.agent,
      env: io.env,
      concurrency: 8,
      recording: options.recording,
    });
  } catch (error) {
    await stored?.close();
    throw error;
  }
  try {
    const rubrics = Object.entries(harness.evals.judges).filter(
      ([name]) => options.judge === undefined || name === options.judge,
    );
    if (rubrics.length === 0)
      throw new KeelError(
        "not_found",
        `agent ${options.agent} has no judge${options.judge ? ` named "${options.judge}"` : "s"} in evals.judges`,
      );
    const model = harness.judgeModel;
    if (!model)
      throw new KeelError(
        "unavailable",
        "no judge model is available: set evals.judgeModel and its key, or record its turns",
      );
    const calibrations: JudgeCalibration[] = [];
    for (const [name, rubric] of rubrics) {
      const file =
        options.labels ?? (rubric.calibration ? resolve(harness.dir, rubric.calibration) : undefined);
      if (!file)
        throw new KeelError(
          "invalid_request",
          `judge ${name} has no calibration labels; pass --labels <file>`,
        );
      const items = await loadJudgeLabels(file);
      const calibration = await calibrateJudge({
        judge: judgeGrader({ name, rubric, model, advisory: false }),
        items,
        bar: harness.evals.calibration,
      });
      calibrations.push(calibration);
      await stored?.store.save(
        judgeCalibrationRecord({
          agent: options.agent,
          version: harness.target.version,
          rubric,
          labelsFile: resolve(file),
          items,
          calibration,
          bar: harness.evals.calibration,
        }),
      );
    }
    if (options.json) io.out(JSON.stringify(calibrations, null, 2));
    else for (const calibration of calibrations) io.out(formatCalibration(calibration));
    const where = stored
      ? "calibration stored in the database (keel_judge_calibrations)"
      : "calibration not stored: set DATABASE_URL to keep it for the API and the console";
    if (!options.json) io.out(where);
    return calibrations.every((calibration) => calibration.trusted) ? 0 : 1;
  } finally {
    await harness.close();
    await stored?.close();
  }
}

/** Calibrations are kept in the database when DATABASE_URL is set, like eval runs; otherwise only printed. */
async function openCalibrationStore(
  io: CliIo,
): Promise<{ store: JudgeCalibrationStore; close(): Promise<void> } | null> {
  const databaseUrl = io.env.DATABASE_URL;
  if (!databaseUrl) return null;
  await checkDatabaseUrl(databaseUrl);
  const store = await openStore({ databaseUrl });
  return { store: sqlJudgeCalibrationStore(store.sql), close: () => store.close() };
}

/** A judge's calibration as text: one block per criterion with its confusion matrix. */
export function formatCalibration(calibration: JudgeCalibration): string {
  const lines = [
    `${calibration.judge}: ${calibration.trusted ? "calibrated — may gate" : "advisory — cannot gate"}`,
  ];
  for (const criterion of calibration.criteria) {
    lines.push(
      `  ${criterion.criterion}: ${criterion.labels} labels, κ = ${criterion.kappa.toFixed(3)} (95% CI ${criterion.interval.low.toFixed(3)}–${criterion.interval.high.toFixed(3)}) ${criterion.meetsBar ? "✓" : "✗"}`,
      `    people ↓ / judge → ${criterion.confusion.labels.map((label) => label.padStart(8)).join("")}`,
      ...criterion.confusion.matrix.map(
        (row, index) =>
          `    ${criterion.confusion.labels[index]!.padEnd(18)}${row.map((count) => String(count).padStart(8)).join("")}`,
      ),
    );
  }
  for (const reason of calibration.reasons) lines.push(`  - ${reason}`);
  return lines.join("\n");
}
