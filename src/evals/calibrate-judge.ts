import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { KeelError } from "../errors/index.ts";
import { EvalCase } from "./eval-case.ts";
import type { CalibrationBar } from "./evals-section.ts";
import type { Grader } from "./grader.ts";
import { bootstrapInterval, type ConfusionMatrix, cohensKappa, confusionMatrix } from "./statistics.ts";

/** One item people labelled: what was asked, what was answered, and their pass/fail per criterion. */
export const LabelledItem = z.strictObject({
  id: z.string().min(1),
  input: z.string(),
  answer: z.string(),
  labels: z.record(z.string(), z.enum(["pass", "fail"])),
  labeller: z.string().optional(),
});
export type LabelledItem = z.infer<typeof LabelledItem>;

/** Agreement between a judge and people on one criterion. */
export type CriterionAgreement = {
  criterion: string;
  labels: number;
  kappa: number;
  /** 95% percentile bootstrap interval of kappa (1,000 resamples, fixed seed). */
  interval: { low: number; high: number };
  /** Rows: the people's label; columns: the judge's. */
  confusion: ConfusionMatrix;
  meetsBar: boolean;
};

/** A judge's calibration: per criterion, and whether it may gate (otherwise it is advisory). */
export type JudgeCalibration = {
  judge: string;
  trusted: boolean;
  criteria: CriterionAgreement[];
  reasons: string[];
};

/** Read human labels from YAML (a list, or `{items: [...]}`) or JSONL. */
export async function loadJudgeLabels(file: string): Promise<LabelledItem[]> {
  const text = await readFile(file, "utf8").catch((error: unknown) => {
    throw new KeelError("not_found", `cannot read labels ${file}: ${(error as Error).message}`);
  });
  const raw: unknown =
    extname(file) === ".jsonl"
      ? text
          .split("\n")
          .filter((line) => line.trim() !== "")
          .map((line) => JSON.parse(line) as unknown)
      : parseYaml(text);
  const list = Array.isArray(raw) ? raw : (raw as { items?: unknown } | null)?.items;
  const parsed = z.array(LabelledItem).safeParse(list);
  if (!parsed.success)
    throw new KeelError(
      "invalid_spec",
      `${file}: ${parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ")}`,
    );
  return parsed.data;
}

/**
 * Agreement per criterion from paired labels: Cohen's kappa, its bootstrap interval and the confusion matrix.
 * The judge is trusted only when every criterion has enough labels, a kappa at the bar and an interval whose
 * lower bound is at its bar; otherwise it is advisory and cannot gate a deploy.
 */
export function judgeAgreement(options: {
  judge: string;
  pairs: readonly { criterion: string; human: string; judge: string }[];
  bar: CalibrationBar;
}): JudgeCalibration {
  const { bar } = options;
  const byCriterion = new Map<string, { human: string[]; judge: string[] }>();
  for (const pair of options.pairs) {
    const entry = byCriterion.get(pair.criterion) ?? { human: [], judge: [] };
    entry.human.push(pair.human);
    entry.judge.push(pair.judge);
    byCriterion.set(pair.criterion, entry);
  }
  const reasons: string[] = [];
  const criteria = [...byCriterion.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([criterion, { human, judge }]): CriterionAgreement => {
      const kappa = cohensKappa(human, judge);
      const interval = bootstrapInterval({
        size: human.length,
        statistic: (indices) =>
          cohensKappa(
            indices.map((i) => human[i]!),
            indices.map((i) => judge[i]!),
          ),
        seed: 11,
      });
      const problems = [
        ...(human.length < bar.minLabels ? [`${human.length} labels < ${bar.minLabels}`] : []),
        ...(!(kappa >= bar.minKappa) ? [`κ ${kappa.toFixed(3)} < ${bar.minKappa}`] : []),
        ...(!(interval.low >= bar.minLowerBound)
          ? [`lower bound ${interval.low.toFixed(3)} < ${bar.minLowerBound}`]
          : []),
      ];
      for (const problem of problems) reasons.push(`${criterion}: ${problem}`);
      return {
        criterion,
        labels: human.length,
        kappa,
        interval,
        confusion: confusionMatrix(human, judge),
        meetsBar: problems.length === 0,
      };
    });
  if (criteria.length === 0) reasons.push("no labels");
  return { judge: options.judge, trusted: reasons.length === 0, criteria, reasons };
}

/** Run a judge over labelled items and measure its agreement with the people who labelled them. */
export async function calibrateJudge(options: {
  judge: Grader;
  items: readonly LabelledItem[];
  bar: CalibrationBar;
  concurrency?: number;
  signal?: AbortSignal;
}): Promise<JudgeCalibration> {
  const signal = options.signal ?? new AbortController().signal;
  const pairs: { criterion: string; human: string; judge: string }[] = [];
  let next = 0;
  const lane = async () => {
    while (next < options.items.length) {
      const item = options.items[next++]!;
      const grade = await options.judge.grade({
        case: EvalCase.parse({ id: item.id, input: item.input }),
        outcome: {
          runId: null,
          status: "completed",
          answer: item.answer,
          error: null,
          toolCalls: [],
          approvals: [],
          nodes: [],
          steps: 0,
          costUsd: 0,
          latencyMs: 0,
        },
        signal,
      });
      for (const [criterion, human] of Object.entries(item.labels)) {
        const verdict = grade.criteria?.[criterion];
        pairs.push({
          criterion,
          human,
          judge: verdict === undefined ? "missing" : verdict ? "pass" : "fail",
        });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 8) }, lane));
  return judgeAgreement({ judge: options.judge.name, pairs, bar: options.bar });
}
