import type { Answer } from "../api.ts";
import { Empty, StatusBadge } from "../components.tsx";
import { formatTime } from "../format.ts";

type RolloutStatus = Answer<"rolloutStatus">;

/**
 * An agent's rollout: the version serving, the newest deployment with the candidate's share of new runs, the verdict
 * on its stage now (or an A/B test's comparison), and its history, where an automatic rollback shows with the
 * controller as its actor and the breached gate as its reason. Moving a rollout is done with `keel rollout` or the
 * API: a deployment is a change a deployer makes on purpose, not a click.
 */
export function RolloutPanel(props: { status: RolloutStatus }) {
  const { deployment, history, verdict, comparison } = props.status;
  return (
    <section aria-labelledby="rollout-title">
      <h2 id="rollout-title">Rollout</h2>
      <dl class="facts">
        <dt>Serving</dt>
        <dd>{props.status.serving}</dd>
        <dt>Versions loaded</dt>
        <dd>{props.status.versions.join(", ")}</dd>
        {deployment ? (
          <>
            <dt>Deployment</dt>
            <dd>
              {deployment.strategy} from {deployment.stableVersion} to {deployment.candidateVersion}{" "}
              <StatusBadge status={deployment.state} />
            </dd>
            <dt>Candidate's share</dt>
            <dd>
              {deployment.candidatePercent}% of new runs
              {deployment.strategy === "canary"
                ? ` (stage ${deployment.stage + 1} of ${deployment.plan.stages.length})`
                : ""}
            </dd>
          </>
        ) : null}
        {verdict ? (
          <>
            <dt>Verdict now</dt>
            <dd>{verdict.reason}</dd>
          </>
        ) : null}
      </dl>
      {deployment ? null : <Empty>No rollout yet: every new run gets the serving version.</Empty>}
      {comparison && comparison.metrics.length > 0 ? (
        <table aria-labelledby="comparison-title">
          <caption id="comparison-title">
            A/B comparison at {Math.round(comparison.confidence * 100)}% confidence
          </caption>
          <thead>
            <tr>
              <th scope="col">Metric</th>
              <th scope="col">Conclusion</th>
              <th scope="col">p-value</th>
            </tr>
          </thead>
          <tbody>
            {comparison.metrics.map((metric) => (
              <tr key={metric.metric}>
                <td>{metric.metric}</td>
                <td>{metric.conclusion}</td>
                <td>{metric.pValue === null ? "—" : metric.pValue.toPrecision(2)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {history.length > 0 ? (
        <table aria-labelledby="rollout-history-title">
          <caption id="rollout-history-title">Rollout history</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">What</th>
              <th scope="col">Candidate's share</th>
              <th scope="col">Who</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {history.map((event) => (
              <tr key={event.seq}>
                <td>{formatTime(event.at)}</td>
                <td>{event.kind.replace(/_/g, " ")}</td>
                <td>{event.candidatePercent}%</td>
                <td>{event.actor}</td>
                <td>{event.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
