import { parseArgs } from "node:util";
import { appendCase, EvalCase } from "../evals/index.ts";
import { agentPackagesModule } from "./agent-packages.ts";
import { connectApiClient } from "./api-client.ts";
import type { CliIo } from "./cli-io.ts";
import { evalCalibrateCommand } from "./eval-calibrate-command.ts";
import { evalCommand } from "./eval-command.ts";
import { reportCliError, usageError } from "./report-cli-error.ts";

/** Usage of `keel eval` and `keel feedback`, for `keel --help` and usage errors. */
export const EVAL_USAGE = `  eval <agent> [--dataset F…] [--baseline <version|eval-run|file.json>] [--gate] [--concurrency 16]
       [--recording auto|record|replay|off] [--out DIR] [--tag T…] [--results-dir .keel/evals] [--json]
                                   run the agent's eval datasets offline, report, compare, gate (exit 1 on failure)
  eval calibrate <agent> [--judge NAME] [--labels F]
                                   agreement of the agent's judges with human labels (κ, interval, confusion);
                                   stored with DATABASE_URL for the API and the console
  eval import <run…> --dataset F   append runs (redacted) to a dataset as cases
  feedback <run> up|down [--comment C]
                                   rate a run; the rating is stored as a score
  feedback promote <feedback-id> --dataset F [--expected E]
                                   turn a rated run into a case of a dataset file`;

const OPTIONS = {
  dataset: { type: "string", multiple: true },
  baseline: { type: "string" },
  gate: { type: "boolean" },
  concurrency: { type: "string" },
  recording: { type: "string" },
  out: { type: "string" },
  tag: { type: "string", multiple: true },
  "results-dir": { type: "string" },
  packages: { type: "string" },
  json: { type: "boolean" },
  url: { type: "string" },
  "api-key-file": { type: "string" },
  comment: { type: "string" },
  expected: { type: "string" },
  judge: { type: "string" },
  labels: { type: "string" },
} as const;

/** `keel eval …` and `keel feedback …`: they parse their own flags. */
export async function evalsCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    const [command, ...rest] = positionals;
    if (command === "eval" && rest[0] === "calibrate") {
      if (!rest[1]) throw usageError("keel eval calibrate <agent>", EVAL_USAGE);
      return await evalCalibrateCommand({
        io,
        agent: rest[1],
        packagesModule: agentPackagesModule(values.packages, io.env),
        recording: io.env.CI === "true" ? "replay" : "auto",
        json: values.json ?? false,
        ...(values.judge === undefined ? {} : { judge: values.judge }),
        ...(values.labels === undefined ? {} : { labels: values.labels }),
      });
    }
    if (command === "eval" && rest[0] === "import") {
      const file = values.dataset?.[0];
      if (rest.length < 2 || !file) throw usageError("keel eval import <run…> --dataset F", EVAL_USAGE);
      const client = connectApiClient(io, values);
      for (const runId of rest.slice(1)) {
        const { case: imported } = await client.call("runEvalCase", { params: { id: runId } });
        const evalCase = EvalCase.parse(imported);
        await appendCase(file, evalCase);
        io.out(`added case ${evalCase.id} to ${file}`);
      }
      return 0;
    }
    if (command === "eval") {
      if (!rest[0]) throw usageError("keel eval <agent>", EVAL_USAGE);
      const recording = values.recording;
      if (recording !== undefined && !["auto", "record", "replay", "off"].includes(recording))
        throw usageError(`--recording must be auto, record, replay or off, not "${recording}"`, EVAL_USAGE);
      const concurrency = Number(values.concurrency ?? "16");
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256)
        throw usageError(
          `--concurrency must be a whole number from 1 to 256, not "${values.concurrency}"`,
          EVAL_USAGE,
        );
      return await evalCommand({
        io,
        agent: rest[0],
        packagesModule: agentPackagesModule(values.packages, io.env),
        datasets: values.dataset ?? [],
        gate: values.gate ?? false,
        concurrency,
        ...(recording === undefined ? {} : { recording: recording as "auto" }),
        ...(values.baseline === undefined ? {} : { baseline: values.baseline }),
        ...(values.out === undefined ? {} : { out: values.out }),
        resultsDir: values["results-dir"] ?? io.env.KEEL_EVAL_RESULTS_DIR ?? ".keel/evals",
        tags: values.tag ?? [],
        json: values.json ?? false,
      });
    }
    const client = connectApiClient(io, values);
    if (rest[0] === "promote") {
      const [, feedbackId] = rest;
      const file = values.dataset?.[0];
      if (!feedbackId || !file)
        throw usageError("keel feedback promote <feedback-id> --dataset F [--expected E]", EVAL_USAGE);
      const body = values.expected === undefined ? {} : { expected: values.expected };
      const { case: promoted } = await client.call("promoteFeedback", { params: { id: feedbackId }, body });
      const evalCase = EvalCase.parse(promoted);
      await appendCase(file, evalCase);
      io.out(`added case ${evalCase.id} to ${file}`);
      return 0;
    }
    const [runId, rating] = rest;
    if (!runId || (rating !== "up" && rating !== "down"))
      throw usageError("keel feedback <run> up|down [--comment C]", EVAL_USAGE);
    const recorded = await client.call("rateRun", {
      params: { id: runId },
      body: { rating, ...(values.comment === undefined ? {} : { comment: values.comment }) },
    });
    io.out(
      values.json
        ? JSON.stringify(recorded, null, 2)
        : `feedback ${recorded.id} recorded: ${recorded.rating} on ${recorded.runId}`,
    );
    return 0;
  } catch (error) {
    return reportCliError(error, io, EVAL_USAGE);
  }
}
