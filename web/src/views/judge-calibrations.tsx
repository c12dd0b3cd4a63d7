import { type Answer, api, query } from "../api.ts";
import { Empty, ErrorNote, Loading, useLoad } from "../components.tsx";
import { formatPercent, formatTime } from "../format.ts";

type Calibration = Answer<"listJudgeCalibrations">["calibrations"][number];
type Criterion = Calibration["criteria"][number];

/**
 * The agent's LLM judges measured against people's labels, as `keel eval calibrate` stored them: per judge its latest
 * calibration (κ of the weakest criterion with its interval, agreement, labels, whether it counts) with each
 * criterion's confusion matrix, and every earlier calibration, so a judge drifting below the bar shows.
 */
export function JudgeCalibrations(props: { agent: string }) {
  const calibrations = useLoad(
    () =>
      api<"listJudgeCalibrations">(
        `/v1/agents/${encodeURIComponent(props.agent)}/judge-calibrations${query({ limit: 200 })}`,
      ),
    [props.agent],
  );
  const byJudge = new Map<string, Calibration[]>();
  for (const calibration of calibrations.data?.calibrations ?? [])
    byJudge.set(calibration.judge, [...(byJudge.get(calibration.judge) ?? []), calibration]);
  return (
    <>
      <h2 id="judge-calibrations">Judge calibrations</h2>
      <p class="hint">
        Each judge's agreement with people's labels, as <code>keel eval calibrate {props.agent}</code> stored
        it (with <code>DATABASE_URL</code>). A judge counts only when every criterion has enough labels, a κ
        at the bar and an interval whose lower bound is at its bar; otherwise its grades are advisory. The
        figures are the weakest criterion's, the one that decides.
      </p>
      <ErrorNote error={calibrations.error} retry={calibrations.reload} />
      {calibrations.data === null ? (
        calibrations.loading ? (
          <Loading what="judge calibrations" />
        ) : null
      ) : byJudge.size === 0 ? (
        <Empty>
          No judge calibration stored for this agent. <code>keel eval calibrate {props.agent}</code> stores
          one per judge when <code>DATABASE_URL</code> is set; without it the calibration is only printed.
        </Empty>
      ) : (
        [...byJudge.entries()].map(([judge, history]) => (
          <JudgeCalibration key={judge} judge={judge} history={history} />
        ))
      )}
    </>
  );
}

function kappaText(entry: { kappa: number; interval: { low: number; high: number } }): string {
  return `κ ${entry.kappa.toFixed(3)} (95% interval ${entry.interval.low.toFixed(3)} to ${entry.interval.high.toFixed(3)})`;
}

/** The headline of a calibration, as one sentence a screen reader reads whole. */
function calibrationSummary(calibration: Calibration): string {
  return `${kappaText(calibration)}, agreement ${formatPercent(calibration.agreement)}, ${calibration.labels} labels: ${standing(calibration)}`;
}

function standing(calibration: { trusted: boolean }): string {
  return calibration.trusted ? "counts" : "advisory";
}

function JudgeCalibration(props: { judge: string; history: Calibration[] }) {
  const [latest] = props.history;
  if (!latest) return null;
  const id = `calibration-${props.judge.replace(/[^A-Za-z0-9_-]/g, "-")}`;
  return (
    <section class="card judge-calibration" aria-labelledby={id}>
      <h3 id={id}>
        {props.judge}{" "}
        <span class={`badge badge-${latest.trusted ? "good" : "warn"}`}>{standing(latest)}</span>
      </h3>
      <p data-testid={`calibration-${props.judge}`}>{calibrationSummary(latest)}</p>
      <p class="hint">
        Calibrated {formatTime(latest.calibratedAt)} with version {latest.version}, against{" "}
        <code>{latest.labelsFile}</code>; the bar: κ ≥ {latest.bar.minKappa}, lower bound ≥{" "}
        {latest.bar.minLowerBound}, ≥ {latest.bar.minLabels} labels.
      </p>
      {latest.reasons.length > 0 ? (
        <ul class="plain-list" aria-label={`Why ${props.judge} is advisory`}>
          {latest.reasons.map((reason) => (
            <li key={reason}>{reason}</li>
          ))}
        </ul>
      ) : null}
      <table>
        <caption>Criteria of {props.judge}</caption>
        <thead>
          <tr>
            <th scope="col">Criterion</th>
            <th scope="col" class="number">
              Labels
            </th>
            <th scope="col" class="number">
              κ
            </th>
            <th scope="col">95% interval</th>
            <th scope="col" class="number">
              Agreement
            </th>
            <th scope="col">Bar</th>
          </tr>
        </thead>
        <tbody>
          {latest.criteria.map((criterion) => (
            <tr key={criterion.criterion}>
              <th scope="row">{criterion.criterion}</th>
              <td class="number">{criterion.labels}</td>
              <td class="number">{criterion.kappa.toFixed(3)}</td>
              <td>
                {criterion.interval.low.toFixed(3)} to {criterion.interval.high.toFixed(3)}
              </td>
              <td class="number">{formatPercent(criterion.agreement)}</td>
              <td>{criterion.meetsBar ? "met" : "not met"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="confusion-matrices">
        {latest.criteria.map((criterion) => (
          <ConfusionMatrix key={criterion.criterion} judge={props.judge} criterion={criterion} />
        ))}
      </div>
      <CalibrationHistory judge={props.judge} history={props.history} />
    </section>
  );
}

/** Rows are the people's labels and columns the judge's, so the diagonal is where they agreed. */
function ConfusionMatrix(props: { judge: string; criterion: Criterion }) {
  const { labels, matrix } = props.criterion.confusion;
  return (
    <table class="confusion-matrix">
      <caption>
        Confusion matrix of {props.judge} on {props.criterion.criterion}
      </caption>
      <thead>
        <tr>
          <th scope="col">People ↓ · judge →</th>
          {labels.map((label) => (
            <th key={label} scope="col" class="number">
              judge: {label}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {labels.map((label, row) => (
          <tr key={label}>
            <th scope="row">people: {label}</th>
            {labels.map((column, index) => (
              <td key={column} class={index === row ? "number agreed" : "number"}>
                {matrix[row]?.[index] ?? 0}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function CalibrationHistory(props: { judge: string; history: Calibration[] }) {
  return (
    <table>
      <caption>History of {props.judge}</caption>
      <thead>
        <tr>
          <th scope="col">Calibrated</th>
          <th scope="col">Version</th>
          <th scope="col" class="number">
            κ
          </th>
          <th scope="col">95% interval</th>
          <th scope="col" class="number">
            Agreement
          </th>
          <th scope="col" class="number">
            Labels
          </th>
          <th scope="col">Standing</th>
        </tr>
      </thead>
      <tbody>
        {props.history.map((calibration) => (
          <tr key={calibration.id}>
            <th scope="row">{formatTime(calibration.calibratedAt)}</th>
            <td>{calibration.version}</td>
            <td class="number">{calibration.kappa.toFixed(3)}</td>
            <td>
              {calibration.interval.low.toFixed(3)} to {calibration.interval.high.toFixed(3)}
            </td>
            <td class="number">{formatPercent(calibration.agreement)}</td>
            <td class="number">{calibration.labels}</td>
            <td>{standing(calibration)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
