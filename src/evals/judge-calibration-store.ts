import { randomUUID } from "node:crypto";
import { hashPayload } from "../journal/index.ts";
import type { SqlClient } from "../store/index.ts";
import type { CriterionAgreement, JudgeCalibration } from "./calibrate-judge.ts";
import type { JudgeRubric } from "./eval-case.ts";
import type { CalibrationBar } from "./evals-section.ts";
import type { ConfusionMatrix } from "./statistics.ts";

/** One criterion of a stored calibration: its agreement with people, and the share of labels the judge matched. */
export type StoredCriterionAgreement = CriterionAgreement & { agreement: number };

/**
 * A judge's calibration as stored: what was measured (agent version, rubric and labels, by hash) and the result.
 * The headline κ, interval and agreement are the weakest criterion's, the one that decides whether the judge may
 * gate; every criterion's figures and confusion matrix are in `criteria`.
 */
export type StoredJudgeCalibration = {
  id: string;
  agent: string;
  version: string;
  judge: string;
  /** SHA-256 of the rubric's canonical JSON: a changed rubric is a different judge. */
  rubricHash: string;
  labelsFile: string;
  /** SHA-256 of the labelled items' canonical JSON: which labels it was measured against. */
  labelsHash: string;
  /** How many labelled items were graded. */
  labels: number;
  kappa: number;
  interval: { low: number; high: number };
  agreement: number;
  /** True when every criterion cleared the bar: the judge's grades count; otherwise they are advisory. */
  trusted: boolean;
  criteria: StoredCriterionAgreement[];
  reasons: string[];
  bar: CalibrationBar;
  calibratedAt: string;
};

/** Judge calibrations in the database beside the eval runs (migration 0028). */
export type JudgeCalibrationStore = {
  save(calibration: StoredJudgeCalibration): Promise<void>;
  /** The agent's calibrations, newest first, optionally of one judge. */
  list(options: { agent: string; judge?: string; limit?: number }): Promise<StoredJudgeCalibration[]>;
};

/** The share of paired labels on the diagonal of a confusion matrix (0 when there are none). */
export function observedAgreement(confusion: ConfusionMatrix): number {
  let agreed = 0;
  let total = 0;
  for (const [row, counts] of confusion.matrix.entries())
    for (const [column, count] of counts.entries()) {
      total += count;
      if (row === column) agreed += count;
    }
  return total === 0 ? 0 : agreed / total;
}

/** What `keel eval calibrate` stores for one judge: the calibration, with what it was measured against. */
export function judgeCalibrationRecord(options: {
  agent: string;
  version: string;
  rubric: JudgeRubric;
  labelsFile: string;
  items: readonly unknown[];
  calibration: JudgeCalibration;
  bar: CalibrationBar;
  at?: Date;
}): StoredJudgeCalibration {
  const { calibration } = options;
  const criteria = calibration.criteria.map((criterion) => ({
    ...criterion,
    agreement: observedAgreement(criterion.confusion),
  }));
  const weakest = criteria.reduce<StoredCriterionAgreement | undefined>(
    (lowest, criterion) => (lowest === undefined || !(criterion.kappa >= lowest.kappa) ? criterion : lowest),
    undefined,
  );
  const at = options.at ?? new Date();
  return {
    id: `jcal_${at.getTime().toString(36)}${randomUUID().slice(0, 8)}`,
    agent: options.agent,
    version: options.version,
    judge: calibration.judge,
    rubricHash: hashPayload(options.rubric),
    labelsFile: options.labelsFile,
    labelsHash: hashPayload(options.items),
    labels: options.items.length,
    // JSON has no NaN: a criterion whose κ is undefined (one label only) is stored as 0, which never clears a bar.
    kappa: finite(weakest?.kappa),
    interval: { low: finite(weakest?.interval.low), high: finite(weakest?.interval.high) },
    agreement: weakest?.agreement ?? 0,
    trusted: calibration.trusted,
    criteria: criteria.map((criterion) => ({
      ...criterion,
      kappa: finite(criterion.kappa),
      interval: { low: finite(criterion.interval.low), high: finite(criterion.interval.high) },
    })),
    reasons: calibration.reasons,
    bar: options.bar,
    calibratedAt: at.toISOString(),
  };
}

function finite(value: number | undefined): number {
  return value !== undefined && Number.isFinite(value) ? value : 0;
}

/** Judge calibrations in `keel_judge_calibrations`. */
export function sqlJudgeCalibrationStore(sql: SqlClient): JudgeCalibrationStore {
  return {
    async save(calibration) {
      await sql.query(
        `INSERT INTO keel_judge_calibrations (calibration_id, agent, version, judge, rubric_hash, labels_file,
           labels_hash, labels, kappa, kappa_low, kappa_high, agreement, trusted, criteria, reasons, bar, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb, $15::jsonb, $16::jsonb, $17)`,
        [
          calibration.id,
          calibration.agent,
          calibration.version,
          calibration.judge,
          calibration.rubricHash,
          calibration.labelsFile,
          calibration.labelsHash,
          calibration.labels,
          calibration.kappa,
          calibration.interval.low,
          calibration.interval.high,
          calibration.agreement,
          calibration.trusted,
          JSON.stringify(calibration.criteria),
          JSON.stringify(calibration.reasons),
          JSON.stringify(calibration.bar),
          calibration.calibratedAt,
        ],
      );
    },
    async list(options) {
      const params: unknown[] = [options.agent];
      if (options.judge !== undefined) params.push(options.judge);
      params.push(options.limit ?? 50);
      const { rows } = await sql.query<Row>(
        `SELECT * FROM keel_judge_calibrations
         WHERE agent = $1 ${options.judge === undefined ? "" : "AND judge = $2"}
         ORDER BY created_at DESC, calibration_id DESC LIMIT $${params.length}`,
        params,
      );
      return rows.map(fromRow);
    },
  };
}

type Row = {
  calibration_id: string;
  agent: string;
  version: string;
  judge: string;
  rubric_hash: string;
  labels_file: string;
  labels_hash: string;
  labels: number;
  kappa: number;
  kappa_low: number;
  kappa_high: number;
  agreement: number;
  trusted: boolean;
  criteria: StoredCriterionAgreement[] | string;
  reasons: string[] | string;
  bar: CalibrationBar | string;
  created_at: Date | string;
};

function fromRow(row: Row): StoredJudgeCalibration {
  const parse = <T>(value: T | string): T => (typeof value === "string" ? (JSON.parse(value) as T) : value);
  return {
    id: row.calibration_id,
    agent: row.agent,
    version: row.version,
    judge: row.judge,
    rubricHash: row.rubric_hash,
    labelsFile: row.labels_file,
    labelsHash: row.labels_hash,
    labels: Number(row.labels),
    kappa: Number(row.kappa),
    interval: { low: Number(row.kappa_low), high: Number(row.kappa_high) },
    agreement: Number(row.agreement),
    trusted: row.trusted,
    criteria: parse(row.criteria),
    reasons: parse(row.reasons),
    bar: parse(row.bar),
    calibratedAt: new Date(row.created_at).toISOString(),
  };
}
