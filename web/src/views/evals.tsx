import { type Answer, ApiError, api, query } from "../api.ts";
import { Bar } from "../bar.tsx";
import { Empty, ErrorNote, Loading, PageHeader, useLoad } from "../components.tsx";
import { formatPercent, formatTime } from "../format.ts";
import { href, navigate } from "../router.ts";
import { JudgeCalibrations } from "./judge-calibrations.tsx";

type EvalRunSummary = Answer<"listEvalRuns">["runs"][number];
type EvalRun = Answer<"getEvalRun">;
type Comparison = Answer<"compareEvalRuns">;

/**
 * Evals: an agent's stored eval runs over time per dataset with the gate's verdicts, production scores per day, two
 * eval runs compared case by case with the LLM judges that graded them, and the judges' stored calibrations. The
 * agent, dataset and the two runs compared live in the URL.
 */
export function EvalsView(props: { query: URLSearchParams }) {
  const agents = useLoad(() => api<"listAgents">("/v1/agents"), []);
  const list = agents.data?.agents ?? [];
  const agent = props.query.get("agent") || list[0]?.name || "";
  const dataset = props.query.get("dataset") ?? "";
  const served = list.find((item) => item.name === agent);

  const runs = useLoad(
    async () =>
      agent === ""
        ? null
        : await api<"listEvalRuns">(
            `/v1/agents/${encodeURIComponent(agent)}/eval-runs${query({ dataset, limit: 100 })}`,
          ),
    [agent, dataset],
  );
  const choose = (fields: Record<string, string | undefined>) =>
    navigate(
      href("evals", {
        agent,
        dataset,
        run: props.query.get("run") ?? undefined,
        baseline: props.query.get("baseline") ?? undefined,
        ...fields,
      }),
    );

  return (
    <section>
      <PageHeader
        title="Evals"
        subtitle="Stored eval runs (keel eval with a database), gate verdicts, production scores and judges."
      />
      <ErrorNote error={agents.error} retry={agents.reload} />
      {agents.data && list.length === 0 ? <Empty>This tenant has no agents.</Empty> : null}
      {agent === "" ? null : (
        <>
          <form class="filters" aria-label="Eval filters" onSubmit={(event) => event.preventDefault()}>
            <div class="field">
              <label for="evals-agent">Agent</label>
              <select
                id="evals-agent"
                value={agent}
                onChange={(event) =>
                  choose({ agent: event.currentTarget.value, dataset: "", run: "", baseline: "" })
                }
              >
                {list.map((item) => (
                  <option key={item.name} value={item.name}>
                    {item.name}
                  </option>
                ))}
              </select>
            </div>
            <div class="field">
              <label for="evals-dataset">Dataset</label>
              <select
                id="evals-dataset"
                value={dataset}
                onChange={(event) => choose({ dataset: event.currentTarget.value, run: "", baseline: "" })}
              >
                <option value="">All datasets</option>
                {datasetsOf(runs.data?.runs ?? [], dataset).map((name) => (
                  <option key={name} value={name}>
                    {name}
                  </option>
                ))}
              </select>
            </div>
          </form>
          <h2 id="eval-runs">Eval runs over time</h2>
          <ErrorNote error={runs.error} retry={runs.reload} />
          {runs.data ? (
            <EvalRunsTable runs={runs.data.runs} />
          ) : runs.loading ? (
            <Loading what="eval runs" />
          ) : null}
          <GateVerdicts
            agent={agent}
            versions={versionsOf(served?.version, runs.data?.runs ?? [])}
            current={served?.version}
          />
          <ProductionScores agent={agent} />
          {runs.data ? (
            <CompareRuns
              agent={agent}
              runs={runs.data.runs}
              run={props.query.get("run") ?? ""}
              baseline={props.query.get("baseline") ?? ""}
              choose={choose}
            />
          ) : null}
          <JudgeCalibrations agent={agent} />
        </>
      )}
    </section>
  );
}

function datasetsOf(runs: readonly EvalRunSummary[], chosen: string): string[] {
  return [...new Set([...runs.map((run) => run.dataset.name), ...(chosen ? [chosen] : [])])].sort();
}

function versionsOf(current: string | undefined, runs: readonly EvalRunSummary[]): string[] {
  return [...new Set([...(current ? [current] : []), ...runs.map((run) => run.version)])].slice(0, 6);
}

function passRateText(summary: { passed: number; total: number; passRate: number }): string {
  return `${summary.passed} of ${summary.total} (${formatPercent(summary.passRate)})`;
}

function EvalRunsTable(props: { runs: readonly EvalRunSummary[] }) {
  if (props.runs.length === 0)
    return (
      <Empty>
        No eval runs stored for this agent. <code>keel eval &lt;agent&gt;</code> stores its results in the
        database when <code>DATABASE_URL</code> is set; without it they are JSON files under{" "}
        <code>.keel/evals</code>, which this console cannot read.
      </Empty>
    );
  return (
    <table aria-labelledby="eval-runs">
      <thead>
        <tr>
          <th scope="col">Finished</th>
          <th scope="col">Dataset</th>
          <th scope="col">Version</th>
          <th scope="col">Passed</th>
          <th scope="col">
            <span class="visually-hidden">Pass rate</span>
          </th>
          <th scope="col" class="number">
            Mean score
          </th>
          <th scope="col">Gate</th>
          <th scope="col">Model</th>
        </tr>
      </thead>
      <tbody>
        {props.runs.map((run) => (
          <tr key={run.id}>
            <td>{formatTime(run.finishedAt)}</td>
            <td>
              {run.dataset.name} <span class="hint">{run.dataset.kind}</span>
            </td>
            <td>{run.version}</td>
            <td data-testid={`pass-${run.id}`}>{passRateText(run.summary)}</td>
            <td class="bar-cell">
              <Bar fraction={run.summary.passRate} tone="good" />
            </td>
            <td class="number">{run.summary.meanScore.toFixed(2)}</td>
            <td>
              {run.gate === null ? (
                <span class="hint">not gated</span>
              ) : (
                <Verdict
                  tone={run.gate.passed ? "good" : "bad"}
                  word={run.gate.passed ? "passed" : "failed"}
                />
              )}
            </td>
            <td>
              {run.model}
              {run.deterministic ? <span class="hint"> · deterministic</span> : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The latest gated verdict per dataset of each version: what the lifecycle gate reads before a deploy. */
function GateVerdicts(props: { agent: string; versions: string[]; current: string | undefined }) {
  const verdicts = useLoad(
    () =>
      Promise.all(
        props.versions.map(async (version) => {
          try {
            return {
              version,
              gate: await api<"evalGate">(
                `/v1/agents/${encodeURIComponent(props.agent)}/versions/${encodeURIComponent(version)}/eval-gate`,
              ),
            };
          } catch (error) {
            if (error instanceof ApiError && error.status === 404) return { version, gate: null };
            throw error;
          }
        }),
      ),
    [props.agent, props.versions.join(",")],
  );
  return (
    <>
      <h2 id="gate-verdicts">Gate verdicts</h2>
      <ErrorNote error={verdicts.error} retry={verdicts.reload} />
      {verdicts.data === null ? (
        verdicts.loading ? (
          <Loading what="gate verdicts" />
        ) : null
      ) : (
        <table aria-labelledby="gate-verdicts">
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Verdict</th>
              <th scope="col">Datasets</th>
            </tr>
          </thead>
          <tbody>
            {verdicts.data.map(({ version, gate }) => (
              <tr key={version}>
                <th scope="row">
                  {version}
                  {version === props.current ? <span class="hint"> · served</span> : null}
                </th>
                <td>
                  {gate === null ? (
                    <span class="hint">never gated</span>
                  ) : (
                    <Verdict tone={gate.passed ? "good" : "bad"} word={gate.passed ? "passed" : "failed"} />
                  )}
                </td>
                <td>
                  {gate === null ? (
                    "—"
                  ) : (
                    <ul class="plain-list">
                      {(gate.datasets as GateDataset[]).map((entry) => (
                        <li key={entry.dataset}>
                          <strong>{entry.dataset}</strong>: {entry.passed ? "passed" : "failed"},{" "}
                          {formatPercent(entry.passRate)}
                          {entry.minScore === null ? "" : ` (bar ${formatPercent(entry.minScore)})`}
                          {entry.reasons.length > 0 ? ` — ${entry.reasons.join("; ")}` : ""}
                        </li>
                      ))}
                    </ul>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
type GateDataset = {
  dataset: string;
  passed: boolean;
  passRate: number;
  minScore: number | null;
  reasons: string[];
};

/** Production sampling's scores per day (`evaluation` events of live runs graded after they ended). */
function ProductionScores(props: { agent: string }) {
  const scores = useLoad(
    () =>
      api<"agentScores">(
        `/v1/agents/${encodeURIComponent(props.agent)}/scores${query({ type: "evaluation", bucket: "day" })}`,
      ),
    [props.agent],
  );
  const series = (scores.data?.series ?? []) as {
    bucket: string;
    count: number;
    meanScore: number;
    passRate: number;
  }[];
  return (
    <>
      <h2 id="production-scores">Production scores per day</h2>
      <ErrorNote error={scores.error} retry={scores.reload} />
      {scores.data === null ? (
        scores.loading ? (
          <Loading what="scores" />
        ) : null
      ) : series.length === 0 ? (
        <Empty>
          No live runs graded yet. Set <code>evals.productionSampling</code> in the agent's spec to grade a
          share of its finished runs.
        </Empty>
      ) : (
        <table aria-labelledby="production-scores">
          <thead>
            <tr>
              <th scope="col">Day (UTC)</th>
              <th scope="col" class="number">
                Runs graded
              </th>
              <th scope="col">Pass rate</th>
              <th scope="col">
                <span class="visually-hidden">Pass rate bar</span>
              </th>
              <th scope="col" class="number">
                Mean score
              </th>
            </tr>
          </thead>
          <tbody>
            {series.map((point) => (
              <tr key={point.bucket}>
                <th scope="row">{point.bucket}</th>
                <td class="number">{point.count}</td>
                <td>{formatPercent(point.passRate)}</td>
                <td class="bar-cell">
                  <Bar fraction={point.passRate} tone="good" />
                </td>
                <td class="number">{point.meanScore.toFixed(2)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function runLabel(run: EvalRunSummary): string {
  return `${run.dataset.name} · ${run.version} · ${formatTime(run.finishedAt)} · ${passRateText(run.summary)}`;
}

/**
 * Two eval runs side by side: by default the newest run and the run before it of the same dataset. The server
 * pairs their cases (`GET …/eval-runs/{id}/comparison`), as `keel eval --baseline` does.
 */
function CompareRuns(props: {
  agent: string;
  runs: readonly EvalRunSummary[];
  run: string;
  baseline: string;
  choose: (fields: Record<string, string | undefined>) => void;
}) {
  const current = props.runs.find((run) => run.id === props.run) ?? props.runs[0];
  const baseline =
    props.runs.find((run) => run.id === props.baseline && run.id !== current?.id) ??
    props.runs.find(
      (run) =>
        current !== undefined &&
        run.id !== current.id &&
        run.dataset.name === current.dataset.name &&
        run.finishedAt <= current.finishedAt,
    );
  const pair = current && baseline ? `${baseline.id}..${current.id}` : "";
  const comparison = useLoad(
    async () =>
      current && baseline
        ? await api<"compareEvalRuns">(
            `/v1/agents/${encodeURIComponent(props.agent)}/eval-runs/${encodeURIComponent(current.id)}/comparison${query({ baseline: baseline.id })}`,
          )
        : null,
    [props.agent, pair],
  );
  const detail = useLoad(
    async () =>
      current
        ? await api<"getEvalRun">(
            `/v1/agents/${encodeURIComponent(props.agent)}/eval-runs/${encodeURIComponent(current.id)}`,
          )
        : null,
    [props.agent, current?.id],
  );
  if (props.runs.length < 2)
    return (
      <>
        <h2>Compare two eval runs</h2>
        <Empty>A comparison needs two stored eval runs; this agent has {props.runs.length}.</Empty>
        {detail.data ? <Judges run={detail.data} /> : null}
      </>
    );
  return (
    <>
      <h2 id="compare-runs">Compare two eval runs</h2>
      <form class="filters" aria-label="Runs to compare" onSubmit={(event) => event.preventDefault()}>
        <div class="field">
          <label for="compare-baseline">Baseline run</label>
          <select
            id="compare-baseline"
            value={baseline?.id ?? ""}
            onChange={(event) => props.choose({ baseline: event.currentTarget.value, run: current?.id })}
          >
            {baseline ? null : <option value="">Choose a run</option>}
            {props.runs
              .filter((run) => run.id !== current?.id)
              .map((run) => (
                <option key={run.id} value={run.id}>
                  {runLabel(run)}
                </option>
              ))}
          </select>
        </div>
        <div class="field">
          <label for="compare-current">Compared run</label>
          <select
            id="compare-current"
            value={current?.id ?? ""}
            onChange={(event) => props.choose({ run: event.currentTarget.value, baseline: baseline?.id })}
          >
            {props.runs.map((run) => (
              <option key={run.id} value={run.id}>
                {runLabel(run)}
              </option>
            ))}
          </select>
        </div>
      </form>
      <ErrorNote error={comparison.error} retry={comparison.reload} />
      {comparison.data ? (
        <ComparisonTables comparison={comparison.data} />
      ) : comparison.loading ? (
        <Loading what="the comparison" />
      ) : (
        <Empty>Choose a baseline run to compare with.</Empty>
      )}
      <ErrorNote error={detail.error} retry={detail.reload} />
      {detail.data ? <FailedCases run={detail.data} /> : null}
      {detail.data ? <Judges run={detail.data} /> : null}
    </>
  );
}

function signed(value: number, digits = 2): string {
  return `${value > 0 ? "+" : value < 0 ? "−" : "±"}${Math.abs(value).toFixed(digits)}`;
}

function signedPoints(value: number): string {
  return `${signed(value * 100, 1)} points`;
}

function ComparisonTables(props: { comparison: Comparison }) {
  const { comparison } = props;
  const { overall } = comparison;
  const categories = Object.entries(comparison.byCategory);
  return (
    <>
      <p data-testid="comparison-overall">
        {comparison.baseline.version} → {comparison.current.version}: pass rate{" "}
        {formatPercent(overall.baselinePassRate)} → {formatPercent(overall.currentPassRate)} (
        {signedPoints(overall.delta)}, 95% interval {signedPoints(overall.deltaInterval.low)} to{" "}
        {signedPoints(overall.deltaInterval.high)}) over {overall.paired} paired cases; {overall.regressed}{" "}
        regressed, {overall.improved} improved; McNemar p = {overall.pValue.toFixed(3)}.
      </p>
      {categories.length > 1 ? (
        <table>
          <caption>By category</caption>
          <thead>
            <tr>
              <th scope="col">Category</th>
              <th scope="col" class="number">
                Paired
              </th>
              <th scope="col">Baseline</th>
              <th scope="col">Compared</th>
              <th scope="col" class="number">
                Change
              </th>
              <th scope="col" class="number">
                Regressed
              </th>
              <th scope="col" class="number">
                Improved
              </th>
            </tr>
          </thead>
          <tbody>
            {categories.map(([name, group]) => (
              <tr key={name}>
                <th scope="row">{name}</th>
                <td class="number">{group.paired}</td>
                <td>{formatPercent(group.baselinePassRate)}</td>
                <td>{formatPercent(group.currentPassRate)}</td>
                <td class="number">{signedPoints(group.delta)}</td>
                <td class="number">{group.regressed}</td>
                <td class="number">{group.improved}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <table class="case-diff">
        <caption>Cases, changed verdicts first</caption>
        <thead>
          <tr>
            <th scope="col">Case</th>
            <th scope="col">Category</th>
            <th scope="col">Change</th>
            <th scope="col">Baseline ({comparison.baseline.version})</th>
            <th scope="col">Compared ({comparison.current.version})</th>
            <th scope="col" class="number">
              Score change
            </th>
          </tr>
        </thead>
        <tbody>
          {comparison.cases.map((row) => (
            <tr key={row.caseId} class={row.change === "same" ? undefined : `change-${row.change}`}>
              <th scope="row">
                <code>{row.caseId}</code>
              </th>
              <td>{row.category}</td>
              <td>
                <Verdict tone={CHANGE_TONES[row.change]} word={row.change} />
              </td>
              <td>{sideText(row.baseline)}</td>
              <td>{sideText(row.current)}</td>
              <td class="number">{row.scoreDelta === null ? "—" : signed(row.scoreDelta)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

const CHANGE_TONES = {
  regressed: "bad",
  improved: "good",
  added: "muted",
  removed: "muted",
  same: "muted",
} as const;

/** A verdict word in a coloured badge; the word carries the meaning, the colour only helps. */
function Verdict(props: { tone: "good" | "bad" | "muted"; word: string }) {
  return <span class={`badge badge-${props.tone}`}>{props.word}</span>;
}

function sideText(side: Comparison["cases"][number]["baseline"]): string {
  if (side === null) return "not in this run";
  return `${side.passed ? "passed" : "failed"}, score ${side.score.toFixed(2)}${side.error ? ` (${side.error})` : ""}`;
}

/** The compared run's failed cases with each failing grader's reason. */
function FailedCases(props: { run: EvalRun }) {
  const failed = props.run.cases.filter((result) => !result.passed);
  return (
    <>
      <h3>
        Failed cases of {props.run.dataset.name} · {props.run.version}
      </h3>
      {failed.length === 0 ? (
        <Empty>Every case passed.</Empty>
      ) : (
        <ul class="plain-list">
          {failed.map((result) => (
            <li key={result.caseId}>
              <code>{result.caseId}</code>:{" "}
              {result.error ??
                result.grades
                  .filter((grade) => !grade.passed && !grade.advisory)
                  .map((grade) => `${grade.grader} — ${grade.reason}`)
                  .join("; ")}
              {result.run.runId ? (
                <>
                  {" "}
                  <span class="hint">(run {result.run.runId} in the eval's own store)</span>
                </>
              ) : null}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

/**
 * What a stored run says about its LLM judges: which graded, whether their grades counted (calibrated) or were
 * advisory, and how often each criterion was met. Their agreement with people is under "Judge calibrations".
 */
function Judges(props: { run: EvalRun }) {
  const judges = new Map<
    string,
    { graded: number; passed: number; advisory: boolean; criteria: Map<string, [number, number]> }
  >();
  for (const result of props.run.cases) {
    for (const grade of result.grades) {
      if (grade.kind !== "judge") continue;
      const entry = judges.get(grade.grader) ?? {
        graded: 0,
        passed: 0,
        advisory: false,
        criteria: new Map(),
      };
      entry.graded += 1;
      if (grade.passed) entry.passed += 1;
      if (grade.advisory) entry.advisory = true;
      for (const [criterion, met] of Object.entries(grade.criteria ?? {})) {
        const [yes, all] = entry.criteria.get(criterion) ?? [0, 0];
        entry.criteria.set(criterion, [yes + (met ? 1 : 0), all + 1]);
      }
      judges.set(grade.grader, entry);
    }
  }
  return (
    <>
      <h2 id="judges">Judges that graded this run</h2>
      <p class="hint">
        A judge counts only when its agreement with people's labels clears the bar; otherwise its grades are
        advisory. Whether each judge counted is what this run recorded when it was graded; each judge's κ, its
        interval and confusion matrix are below, under Judge calibrations.
      </p>
      {judges.size === 0 ? (
        <Empty>No LLM judge graded this run.</Empty>
      ) : (
        <table aria-labelledby="judges">
          <thead>
            <tr>
              <th scope="col">Judge</th>
              <th scope="col">Standing</th>
              <th scope="col" class="number">
                Cases graded
              </th>
              <th scope="col">Passed</th>
              <th scope="col">Criteria met</th>
            </tr>
          </thead>
          <tbody>
            {[...judges.entries()].map(([name, entry]) => (
              <tr key={name}>
                <th scope="row">{name}</th>
                <td>{entry.advisory ? "advisory (not calibrated)" : "calibrated: counts"}</td>
                <td class="number">{entry.graded}</td>
                <td>{formatPercent(entry.passed / entry.graded)}</td>
                <td>
                  {[...entry.criteria.entries()]
                    .sort(([a], [b]) => a.localeCompare(b))
                    .map(([criterion, [yes, all]]) => `${criterion} ${yes}/${all}`)
                    .join(", ") || "—"}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
