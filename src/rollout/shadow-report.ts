import type { JournalEvent } from "../journal/index.ts";
import type { SqlClient } from "../store/index.ts";
import { agreesWithPerson, pairCalls, type RunFacts, runFacts } from "./shadow-pair.ts";

/**
 * Says whether the candidate's answer agrees with the expected one (the live run's, or a person's resolution). The
 * default compares normalized text; an agent whose evals section declares a judge is graded by it (the route builds
 * it). `score` is in [0, 1] where the grader has one.
 */
export type AnswerGrader = {
  name: string;
  grade(input: {
    input: string;
    expected: string;
    actual: string;
  }): Promise<{ agree: boolean; score?: number }>;
};

/** Exact match after folding case, whitespace and punctuation: the grader when none is declared. */
export const normalizedMatch: AnswerGrader = {
  name: "normalized-match",
  grade: ({ expected, actual }) => Promise.resolve({ agree: normalize(expected) === normalize(actual) }),
};

function normalize(text: string): string {
  return text
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim();
}

/** A share with what it is a share of. */
export type Agreement = { compared: number; agreed: number; rate: number | null };

/** One arm's figures over the ended pairs. */
export type ArmFigures = {
  runs: number;
  statuses: Record<string, number>;
  costUsd: { total: number; mean: number | null };
  latencyMs: { p50: number | null; p95: number | null };
  guardFindings: number;
  runsFlagged: number;
};

/** The candidate's agreement with people, for one group of their decisions. */
export type PeopleAgreement = Agreement & { key: string };

/** What a candidate did on the live runs it shadowed, compared from both journals (docs/shadow.md). */
export type ShadowReport = {
  agent: string;
  stableVersion: string;
  candidateVersion: string;
  since: string | null;
  until: string | null;
  grader: string;
  /** Live runs with a shadow of the candidate, both ended: what every figure below is over. */
  pairs: number;
  /** Pairs where one run or both have not ended yet. */
  pending: number;
  answers: Agreement;
  trajectories: Agreement & {
    perTool: { tool: string; live: number; candidate: number; sameArguments: number }[];
  };
  policyDecisions: Agreement & { matrix: Record<string, Record<string, number>> };
  /** How the candidate's side-effecting calls were answered instead of being executed. */
  shadowed: Record<string, number>;
  stable: ArmFigures;
  candidate: ArmFigures;
  people: Agreement & { byTool: PeopleAgreement[]; byDecision: PeopleAgreement[]; byKind: PeopleAgreement[] };
};

/** Most pairs a report reads (the newest ones in its window). */
export const SHADOW_REPORT_MAX_PAIRS = 5_000;

/**
 * Build the shadow report of an agent's candidate version against its stable one, from the journals of the live runs
 * of the stable version that the candidate shadowed (in `tenant`, started in [since, until)) and of their shadows.
 * A projection of the journal (invariant 8): it writes nothing and can be rebuilt at any time.
 */
export async function buildShadowReport(options: {
  sql: SqlClient;
  readEvents: (runId: string) => Promise<readonly JournalEvent[]>;
  agent: string;
  tenant: string;
  stableVersion: string;
  candidateVersion: string;
  since?: Date;
  until?: Date;
  grader?: AnswerGrader;
  limit?: number;
}): Promise<ShadowReport> {
  const grader = options.grader ?? normalizedMatch;
  const { rows } = await options.sql.query<{ live: string; shadow: string }>(
    `SELECT l.run_id AS live, s.run_id AS shadow
       FROM keel_runs s JOIN keel_runs l ON l.run_id = s.shadow_of
      WHERE s.shadow_of IS NOT NULL AND s.agent = $1 AND s.agent_version = $2 AND s.tenant = $3
        AND l.agent = $1 AND l.agent_version = $4
        AND ($5::timestamptz IS NULL OR l.created_at >= $5::timestamptz)
        AND ($6::timestamptz IS NULL OR l.created_at < $6::timestamptz)
      ORDER BY l.created_at DESC, s.run_id DESC
      LIMIT $7`,
    [
      options.agent,
      options.candidateVersion,
      options.tenant,
      options.stableVersion,
      options.since?.toISOString() ?? null,
      options.until?.toISOString() ?? null,
      Math.min(options.limit ?? SHADOW_REPORT_MAX_PAIRS, SHADOW_REPORT_MAX_PAIRS),
    ],
  );
  const pairs: { live: RunFacts; candidate: RunFacts }[] = [];
  let pending = 0;
  for (const row of rows.reverse()) {
    const live = runFacts(await options.readEvents(row.live));
    const candidate = runFacts(await options.readEvents(row.shadow));
    if (live.status === null || candidate.status === null) pending += 1;
    else pairs.push({ live, candidate });
  }
  return {
    agent: options.agent,
    stableVersion: options.stableVersion,
    candidateVersion: options.candidateVersion,
    since: options.since?.toISOString() ?? null,
    until: options.until?.toISOString() ?? null,
    grader: grader.name,
    pairs: pairs.length,
    pending,
    answers: await answerAgreement(pairs, grader),
    trajectories: trajectoryAgreement(pairs),
    policyDecisions: policyAgreement(pairs),
    shadowed: count(pairs.flatMap(({ candidate }) => candidate.calls.flatMap((call) => call.shadowed ?? []))),
    stable: armFigures(pairs.map((pair) => pair.live)),
    candidate: armFigures(pairs.map((pair) => pair.candidate)),
    people: await peopleAgreement(pairs, grader),
  };
}

/** The version of an agent whose shadow runs in a tenant are the newest, or null when it has none. */
export async function latestShadowVersion(
  sql: SqlClient,
  agent: string,
  tenant: string,
): Promise<string | null> {
  const { rows } = await sql.query<{ version: string }>(
    `SELECT agent_version AS version FROM keel_runs
      WHERE shadow_of IS NOT NULL AND agent = $1 AND tenant = $2
      ORDER BY created_at DESC LIMIT 1`,
    [agent, tenant],
  );
  return rows[0]?.version ?? null;
}

/** Answers compared where both runs answered; a run that did not answer is compared by status only. */
async function answerAgreement(
  pairs: readonly { live: RunFacts; candidate: RunFacts }[],
  grader: AnswerGrader,
): Promise<Agreement> {
  let agreed = 0;
  for (const { live, candidate } of pairs) {
    if (live.answer !== null && candidate.answer !== null) {
      const { agree } = await grader.grade({
        input: live.input,
        expected: live.answer,
        actual: candidate.answer,
      });
      if (agree) agreed += 1;
    } else if (live.answer === null && candidate.answer === null && live.status === candidate.status) {
      agreed += 1;
    }
  }
  return agreement(pairs.length, agreed);
}

/** The same tools in the same order; per tool, how often each arm called it and how often with the same arguments. */
function trajectoryAgreement(
  pairs: readonly { live: RunFacts; candidate: RunFacts }[],
): ShadowReport["trajectories"] {
  const perTool = new Map<string, { tool: string; live: number; candidate: number; sameArguments: number }>();
  let agreed = 0;
  for (const { live, candidate } of pairs) {
    const order = (facts: RunFacts) => facts.calls.map((call) => call.tool).join("\u0000");
    if (order(live) === order(candidate)) agreed += 1;
    for (const paired of pairCalls(live.calls, candidate.calls)) {
      const entry = perTool.get(paired.tool) ?? {
        tool: paired.tool,
        live: 0,
        candidate: 0,
        sameArguments: 0,
      };
      if (paired.live) entry.live += 1;
      if (paired.candidate) entry.candidate += 1;
      if (paired.live && paired.candidate?.argumentsHash === paired.live.argumentsHash)
        entry.sameArguments += 1;
      perTool.set(paired.tool, entry);
    }
  }
  return {
    ...agreement(pairs.length, agreed),
    perTool: [...perTool.values()].sort((a, b) => a.tool.localeCompare(b.tool)),
  };
}

/** The governor's first word on calls both arms made (paired by tool and order): rows live, columns candidate. */
function policyAgreement(
  pairs: readonly { live: RunFacts; candidate: RunFacts }[],
): ShadowReport["policyDecisions"] {
  const matrix: Record<string, Record<string, number>> = {};
  let compared = 0;
  let agreed = 0;
  for (const { live, candidate } of pairs) {
    for (const paired of pairCalls(live.calls, candidate.calls)) {
      const ours = paired.live?.decision;
      const theirs = paired.candidate?.decision;
      if (!ours || !theirs) continue;
      compared += 1;
      if (ours === theirs) agreed += 1;
      const row = matrix[ours] ?? {};
      row[theirs] = (row[theirs] ?? 0) + 1;
      matrix[ours] = row;
    }
  }
  return { ...agreement(compared, agreed), matrix };
}

/** Where a person decided on a live run, whether the candidate did what the person decided. */
async function peopleAgreement(
  pairs: readonly { live: RunFacts; candidate: RunFacts }[],
  grader: AnswerGrader,
): Promise<ShadowReport["people"]> {
  const verdicts: { tool: string; decision: string; kind: string; agree: boolean }[] = [];
  for (const { live, candidate } of pairs) {
    for (const person of live.people) {
      let agree = agreesWithPerson(person, candidate);
      if (agree === null) {
        if (person.resolution === null || candidate.answer === null) agree = false;
        else {
          const graded = await grader.grade({
            input: live.input,
            expected: person.resolution,
            actual: candidate.answer,
          });
          agree = graded.agree;
        }
      }
      verdicts.push({
        tool: person.tool ?? "(handoff)",
        decision: person.decision,
        kind: person.kind,
        agree,
      });
    }
  }
  const by = (key: "tool" | "decision" | "kind"): PeopleAgreement[] =>
    [...new Set(verdicts.map((verdict) => verdict[key]))].sort().map((value) => {
      const group = verdicts.filter((verdict) => verdict[key] === value);
      return { key: value, ...agreement(group.length, group.filter((verdict) => verdict.agree).length) };
    });
  return {
    ...agreement(verdicts.length, verdicts.filter((verdict) => verdict.agree).length),
    byTool: by("tool"),
    byDecision: by("decision"),
    byKind: by("kind"),
  };
}

function armFigures(runs: readonly RunFacts[]): ArmFigures {
  const costs = runs.map((run) => run.costUsd);
  const total = costs.reduce((sum, each) => sum + each, 0);
  const latencies = runs.flatMap((run) => (run.durationMs === null ? [] : [run.durationMs]));
  return {
    runs: runs.length,
    statuses: count(runs.map((run) => run.status ?? "running")),
    costUsd: { total, mean: runs.length === 0 ? null : total / runs.length },
    latencyMs: { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95) },
    guardFindings: runs.reduce((sum, run) => sum + run.guardFindings, 0),
    runsFlagged: runs.filter((run) => run.guardFindings > 0).length,
  };
}

/** The nearest-rank percentile. */
function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

function agreement(compared: number, agreed: number): Agreement {
  return { compared, agreed, rate: compared === 0 ? null : agreed / compared };
}

function count(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}
