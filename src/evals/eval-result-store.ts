import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { SqlClient } from "../store/index.ts";
import type { GateResult } from "./decide-gate.ts";
import type { EvalRunResult } from "./eval-result.ts";

/** An eval run as stored: its result, and the gate's verdict when it was run with `--gate`. */
export type StoredEvalRun = { result: EvalRunResult; gate: GateResult | null };

/** Where eval results are kept: in the run store's database (`keel_eval_runs`) or a folder of JSON files. */
export type EvalResultStore = {
  save(run: StoredEvalRun): Promise<void>;
  get(id: string): Promise<StoredEvalRun | null>;
  /** The newest runs first, optionally of one agent, version and dataset. */
  list(options: {
    agent?: string;
    version?: string;
    dataset?: string;
    limit?: number;
  }): Promise<StoredEvalRun[]>;
};

/** Eval results in the database, beside the runs (migration 0006). */
export function sqlEvalResultStore(sql: SqlClient): EvalResultStore {
  return {
    async save({ result, gate }) {
      await sql.query(
        `INSERT INTO keel_eval_runs (eval_run_id, agent, version, dataset, dataset_version, pass_rate, gate_passed, result, gate, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10)
         ON CONFLICT (eval_run_id) DO UPDATE SET gate_passed = EXCLUDED.gate_passed, gate = EXCLUDED.gate`,
        [
          result.id,
          result.agent,
          result.version,
          result.dataset.name,
          result.dataset.version,
          result.summary.passRate,
          gate?.passed ?? null,
          JSON.stringify(result),
          gate === null ? null : JSON.stringify(gate),
          result.finishedAt,
        ],
      );
    },
    async get(id) {
      const { rows } = await sql.query<Row>(
        "SELECT result, gate FROM keel_eval_runs WHERE eval_run_id = $1",
        [id],
      );
      return rows[0] ? fromRow(rows[0]) : null;
    },
    async list(options) {
      const conditions: string[] = [];
      const params: unknown[] = [];
      for (const [column, value] of [
        ["agent", options.agent],
        ["version", options.version],
        ["dataset", options.dataset],
      ] as const) {
        if (value === undefined) continue;
        params.push(value);
        conditions.push(`${column} = $${params.length}`);
      }
      params.push(options.limit ?? 50);
      const { rows } = await sql.query<Row>(
        `SELECT result, gate FROM keel_eval_runs ${conditions.length > 0 ? `WHERE ${conditions.join(" AND ")}` : ""}
         ORDER BY created_at DESC, eval_run_id DESC LIMIT $${params.length}`,
        params,
      );
      return rows.map(fromRow);
    },
  };
}

type Row = { result: EvalRunResult | string; gate: GateResult | string | null };

function fromRow(row: Row): StoredEvalRun {
  const parse = <T>(value: T | string): T => (typeof value === "string" ? (JSON.parse(value) as T) : value);
  return { result: parse(row.result), gate: row.gate === null ? null : parse(row.gate) };
}

/** Eval results as one JSON file per eval run in a folder (`.keel/evals` by default): for laptops and CI artifacts. */
export function directoryEvalResultStore(directory: string): EvalResultStore {
  const readAll = async (): Promise<StoredEvalRun[]> => {
    const names = await readdir(directory).catch(() => [] as string[]);
    const runs = await Promise.all(
      names
        .filter((name) => name.endsWith(".json"))
        .map(async (name) => JSON.parse(await readFile(join(directory, name), "utf8")) as StoredEvalRun),
    );
    return runs.sort((a, b) =>
      a.result.finishedAt === b.result.finishedAt
        ? b.result.id.localeCompare(a.result.id)
        : b.result.finishedAt.localeCompare(a.result.finishedAt),
    );
  };
  return {
    async save(run) {
      await mkdir(directory, { recursive: true });
      await writeFile(join(directory, `${run.result.id}.json`), `${JSON.stringify(run, null, 1)}\n`);
    },
    async get(id) {
      return (await readAll()).find((run) => run.result.id === id) ?? null;
    },
    async list(options) {
      return (await readAll())
        .filter(
          (run) =>
            (options.agent === undefined || run.result.agent === options.agent) &&
            (options.version === undefined || run.result.version === options.version) &&
            (options.dataset === undefined || run.result.dataset.name === options.dataset),
        )
        .slice(0, options.limit ?? 50);
    },
  };
}

/**
 * The run an eval run is compared with when no baseline is named: the latest run of the same dataset by another
 * version of the agent that passed its gate (what a release was last held to). Null when there is none.
 */
export async function defaultBaseline(
  results: EvalResultStore,
  result: EvalRunResult,
): Promise<EvalRunResult | null> {
  const previous = await results.list({ agent: result.agent, dataset: result.dataset.name, limit: 100 });
  return (
    previous.find((run) => run.result.version !== result.version && run.gate?.passed === true)?.result ?? null
  );
}

/** What the lifecycle gate "eval results meet threshold" needs to know about an agent version. */
export type LatestGateResult = {
  agent: string;
  version: string;
  /** True only when every dataset's latest gated eval run of this version passed. */
  passed: boolean;
  datasets: {
    dataset: string;
    evalRunId: string;
    passed: boolean;
    passRate: number;
    /** The bar the gate held it to (the spec's `evals.gate.minScore`). */
    minScore: number | null;
    finishedAt: string;
    reasons: string[];
  }[];
};

/**
 * The latest gate verdict for an agent version, per dataset: the lifecycle gate reads this before a deploy. Only
 * eval runs made with `--gate` count; null when there are none (a version never gated has not passed).
 */
export async function latestGateResult(options: {
  results: EvalResultStore;
  agent: string;
  version: string;
}): Promise<LatestGateResult | null> {
  const runs = await options.results.list({ agent: options.agent, version: options.version, limit: 500 });
  const latest = new Map<string, StoredEvalRun>();
  for (const run of runs) {
    if (run.gate === null || latest.has(run.result.dataset.name)) continue;
    latest.set(run.result.dataset.name, run);
  }
  if (latest.size === 0) return null;
  const datasets = [...latest.values()]
    .map(({ result, gate }) => ({
      dataset: result.dataset.name,
      evalRunId: result.id,
      passed: gate?.passed ?? false,
      passRate: result.summary.passRate,
      minScore: gate?.minScore ?? null,
      finishedAt: result.finishedAt,
      reasons: gate?.reasons ?? [],
    }))
    .sort((a, b) => a.dataset.localeCompare(b.dataset));
  return {
    agent: options.agent,
    version: options.version,
    passed: datasets.every((entry) => entry.passed),
    datasets,
  };
}
