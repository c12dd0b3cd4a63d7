/** Summaries of the phases each system ran, and the report printed from them. */
import { formatTable, ms, rate, times } from "../format-table.ts";
import { type LatencySummary, summarizeLatencies } from "../summarize-latencies.ts";
import type { PeerName, PhaseKind, PhaseOutcome } from "./peer-system.ts";
import type { PhaseCounters, StatementUse } from "./server-counters.ts";

/** CPU over one phase, each as a percentage of all the machine's cores. */
export type PhaseCpu = {
  systemPercent: number;
  serverPercent: number | null;
  /** Everything else on the machine: other processes, which skew every figure. */
  otherPercent: number | null;
};

export type PhaseRecord = {
  round: number;
  system: PeerName;
  kind: PhaseKind;
  outcome: PhaseOutcome;
  counters: PhaseCounters;
  cpu: PhaseCpu;
};

export type PerOperation = { statements: number; writeTransactions: number; walBytes: number };

export type SystemSummary = {
  system: PeerName;
  sequential: LatencySummary;
  sequentialP50ByRound: number[];
  /** Steps (rows for the baseline) per second at once, over all rounds, and per round. */
  perSecond: number;
  perSecondByRound: number[];
  perOperation: Record<PhaseKind, PerOperation>;
  cpu: Record<PhaseKind, PhaseCpu>;
  statements: Record<PhaseKind, StatementUse[]>;
  /** Operations the measured phases executed: the divisor of every per-step figure. */
  executed: Record<PhaseKind, number>;
};

export const LABELS: Record<PeerName, string> = {
  keel: "Keel (PostgreSQL journal)",
  dbos: "DBOS Transact (step per decision and per tool call)",
  langgraph: 'LangGraph.js + PostgresSaver, durability "sync"',
  "raw-insert": "raw single-row INSERT in autocommit (baseline)",
};

export function summarize(system: PeerName, records: readonly PhaseRecord[]): SystemSummary {
  const mine = records.filter((record) => record.system === system);
  const of = (kind: PhaseKind) => mine.filter((record) => record.kind === kind);
  const sequential = of("sequential");
  const concurrent = of("concurrent");
  const sum = (phases: readonly PhaseRecord[], value: (record: PhaseRecord) => number) =>
    phases.reduce((total, record) => total + value(record), 0);
  const perOperation = (phases: readonly PhaseRecord[]): PerOperation => {
    const executed = sum(phases, (record) => record.outcome.executed);
    return {
      statements: sum(phases, (record) => record.counters.statements) / executed,
      writeTransactions: sum(phases, (record) => record.counters.writeTransactions) / executed,
      walBytes: sum(phases, (record) => record.counters.walBytes) / executed,
    };
  };
  return {
    system,
    sequential: summarizeLatencies(sequential.flatMap((record) => record.outcome.samplesMs)),
    sequentialP50ByRound: sequential.map((record) => summarizeLatencies(record.outcome.samplesMs).p50),
    perSecond:
      (sum(concurrent, (record) => record.outcome.operations) * 1_000) /
      sum(concurrent, (record) => record.outcome.elapsedMs),
    perSecondByRound: concurrent.map(
      (record) => (record.outcome.operations * 1_000) / record.outcome.elapsedMs,
    ),
    perOperation: { sequential: perOperation(sequential), concurrent: perOperation(concurrent) },
    cpu: { sequential: meanCpu(sequential), concurrent: meanCpu(concurrent) },
    statements: { sequential: mergeStatements(sequential), concurrent: mergeStatements(concurrent) },
    executed: {
      sequential: sum(sequential, (record) => record.outcome.executed),
      concurrent: sum(concurrent, (record) => record.outcome.executed),
    },
  };
}

/** CPU shares averaged over phases, weighted by how long each phase ran. */
function meanCpu(phases: readonly PhaseRecord[]): PhaseCpu {
  const wall = phases.reduce((total, record) => total + record.outcome.elapsedMs, 0);
  const weighted = (value: (cpu: PhaseCpu) => number | null) => {
    let total = 0;
    for (const record of phases) {
      const share = value(record.cpu);
      if (share === null) return null;
      total += share * record.outcome.elapsedMs;
    }
    return total / wall;
  };
  return {
    systemPercent: weighted((cpu) => cpu.systemPercent) ?? 0,
    serverPercent: weighted((cpu) => cpu.serverPercent),
    otherPercent: weighted((cpu) => cpu.otherPercent),
  };
}

function mergeStatements(phases: readonly PhaseRecord[]): StatementUse[] {
  const merged = new Map<string, StatementUse>();
  for (const record of phases) {
    for (const use of record.counters.byStatement) {
      const known = merged.get(use.query) ?? { query: use.query, calls: 0, totalMs: 0, walBytes: 0 };
      merged.set(use.query, {
        query: use.query,
        calls: known.calls + use.calls,
        totalMs: known.totalMs + use.totalMs,
        walBytes: known.walBytes + use.walBytes,
      });
    }
  }
  return [...merged.values()].sort((a, b) => b.calls - a.calls);
}

export type ReportContext = {
  concurrentRuns: number;
  /** Committed transactions (pg_stat_database) over the measured rounds, per system; null when not read. */
  commitsPerOperation: Map<PeerName, number> | null;
};

export function formatReport(summaries: readonly SystemSummary[], context: ReportContext): string {
  const by = (system: PeerName) => summaries.find((summary) => summary.system === system)!;
  const keel = by("keel");
  const raw = by("raw-insert");
  const agents = summaries.filter((summary) => summary.system !== "raw-insert");
  const sections: string[] = [];

  sections.push(
    formatTable(
      [
        "(a) one run at a time, per tool-calling step",
        "p50 ms",
        "p95 ms",
        "samples",
        "p50 ÷ raw INSERT",
        "Keel p50 ÷ this",
      ],
      summaries.map((summary) => [
        LABELS[summary.system],
        ms(summary.sequential.p50),
        ms(summary.sequential.p95),
        String(summary.sequential.count),
        times(summary.sequential.p50 / raw.sequential.p50),
        times(keel.sequential.p50 / summary.sequential.p50),
      ]),
    ),
  );
  sections.push(
    formatTable(
      [`(b) ${context.concurrentRuns} runs at once`, "steps/s", "÷ raw INSERT rows/s", "Keel ÷ this"],
      summaries.map((summary) => [
        LABELS[summary.system],
        rate(summary.perSecond, summary.system === "raw-insert" ? "rows/s" : "steps/s"),
        times(summary.perSecond / raw.perSecond),
        times(keel.perSecond / summary.perSecond),
      ]),
    ),
  );

  const perRound = (name: string, ours: number[], theirs: number[]) => {
    const ratios = ours.map((value, index) => value / theirs[index]!);
    return `${name}: ${ratios.map((ratio) => ratio.toFixed(2)).join(", ")}`;
  };
  const roundLines = ["Ratios round by round (the systems alternate within each round):"];
  for (const other of summaries.filter((summary) => summary.system !== "keel")) {
    roundLines.push(
      `  ${perRound(`Keel p50 ÷ ${other.system} p50`, keel.sequentialP50ByRound, other.sequentialP50ByRound)}`,
    );
    roundLines.push(
      `  ${perRound(`Keel steps/s ÷ ${other.system} ${other.system === "raw-insert" ? "rows/s" : "steps/s"}`, keel.perSecondByRound, other.perSecondByRound)}`,
    );
  }
  sections.push(roundLines.join("\n"));

  const work = (value: PerOperation) => [
    value.statements.toFixed(2),
    value.writeTransactions.toFixed(2),
    Math.round(value.walBytes).toLocaleString("en-US"),
  ];
  sections.push(
    formatTable(
      [
        "(c) server work per step (per row for the baseline)",
        "stmts, 1 at a time",
        "write commits",
        "WAL bytes",
        `stmts, ${context.concurrentRuns} at once`,
        "write commits",
        "WAL bytes",
        ...(context.commitsPerOperation ? ["all commits, both phases"] : []),
      ],
      summaries.map((summary) => [
        LABELS[summary.system],
        ...work(summary.perOperation.sequential),
        ...work(summary.perOperation.concurrent),
        ...(context.commitsPerOperation
          ? [(context.commitsPerOperation.get(summary.system) ?? Number.NaN).toFixed(2)]
          : []),
      ]),
    ),
  );
  sections.push(
    [
      "Per step is the run's whole work (start, every model turn, every tool call, the answer, the end) divided by",
      "its tool-calling steps. stmts: statements the system's database ran (pg_stat_statements, top level, BEGIN and",
      "COMMIT included), about one round trip each. write commits: transactions that wrote (transaction ids the",
      "server assigned). WAL bytes: pg_current_wal_insert_lsn() difference.",
      ...(context.commitsPerOperation
        ? [
            "all commits: pg_stat_database.xact_commit over the measured rounds, read-only transactions included.",
          ]
        : []),
    ].join("\n"),
  );

  const cpu = (share: PhaseCpu) => [
    `${share.systemPercent.toFixed(0)}%`,
    share.serverPercent === null ? "?" : `${share.serverPercent.toFixed(0)}%`,
    share.otherPercent === null ? "?" : `${share.otherPercent.toFixed(0)}%`,
  ];
  sections.push(
    formatTable(
      [
        "CPU during the phases (% of all cores)",
        "system, 1 at a time",
        "PostgreSQL",
        "other work",
        `system, ${context.concurrentRuns} at once`,
        "PostgreSQL",
        "other work",
      ],
      summaries.map((summary) => [
        LABELS[summary.system],
        ...cpu(summary.cpu.sequential),
        ...cpu(summary.cpu.concurrent),
      ]),
    ),
  );

  for (const summary of agents) {
    sections.push(statementBreakdown(summary));
  }
  return sections.join("\n\n");
}

/** The statements one run at a time sent, most frequent first, per tool-calling step. */
function statementBreakdown(summary: SystemSummary): string {
  const phase = summary.statements.sequential;
  const executed = summary.executed.sequential;
  const rows = phase
    .slice(0, 10)
    .map((use) => [
      use.query.length > 90 ? `${use.query.slice(0, 89)}…` : use.query,
      (use.calls / executed).toFixed(2),
      ms(use.totalMs / use.calls),
      Math.round(use.walBytes / executed).toLocaleString("en-US"),
    ]);
  if (phase.length > 10) {
    const rest = phase.slice(10);
    const calls = rest.reduce((total, use) => total + use.calls, 0);
    rows.push([`(${rest.length} more statements)`, (calls / executed).toFixed(2), "", ""]);
  }
  return formatTable(
    [`${LABELS[summary.system]}: statements one run at a time`, "per step", "mean ms", "WAL B/step"],
    rows,
  );
}
