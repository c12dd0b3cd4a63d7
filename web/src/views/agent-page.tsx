import { type Answer, api } from "../api.ts";
import { Empty, ErrorNote, Loading, PageHeader, StatusBadge, useLoad } from "../components.tsx";
import { formatTime } from "../format.ts";
import { href } from "../router.ts";
import { KillSwitchPanel, killFor } from "./kill-switch-panel.tsx";
import { RolloutPanel } from "./rollout-panel.tsx";

type RegistryAgent = Answer<"registryAgent">;

/**
 * One agent: its kill switch first (it is what an operator comes for in an incident), then its rollout, its versions
 * and lifecycle, the gate attestations, its policies, the registry card and its history. Each part loads on its own, so
 * one refused or missing part (an agent not yet registered) leaves the others readable.
 */
export function AgentPage(props: { name: string }) {
  const path = encodeURIComponent(props.name);
  const served = useLoad(() => api<"getAgent">(`/v1/agents/${path}`), [props.name]);
  const kills = useLoad(() => api<"listKillSwitches">("/v1/kill-switches"), [props.name]);
  const registry = useLoad(() => api<"registryAgent">(`/v1/registry/${path}`), [props.name]);
  const card = useLoad(() => api<"registryCard">(`/v1/registry/${path}/card`), [props.name]);
  const policies = useLoad(() => api<"agentPolicies">(`/v1/agents/${path}/policies`), [props.name]);
  const rollout = useLoad(() => api<"rolloutStatus">(`/v1/agents/${path}/rollout`), [props.name]);
  const latest = registry.data?.latest;

  return (
    <section>
      <p class="breadcrumb">
        <a href={href("agents")}>Agents</a> / {props.name}
      </p>
      <PageHeader title={props.name} subtitle={served.data?.description ?? latest?.description ?? undefined}>
        {latest ? <StatusBadge status={latest.status} /> : null}
        {latest ? <span class="badge badge-muted">risk tier {latest.riskTier}</span> : null}
      </PageHeader>
      {served.error && !served.data ? <ErrorNote error={served.error} /> : null}

      {kills.error ? <ErrorNote error={kills.error} retry={kills.reload} /> : null}
      {kills.data ? (
        <KillSwitchPanel
          agent={props.name}
          kill={killFor(kills.data.killSwitches, props.name)}
          onChange={kills.reload}
        />
      ) : kills.loading ? (
        <Loading what="the kill switch" />
      ) : null}

      {served.data ? (
        <dl class="facts">
          <dt>Serving</dt>
          <dd>
            {served.data.version} <code>{served.data.versionHash.slice(0, 12)}</code>
          </dd>
          <dt>Model</dt>
          <dd>
            {served.data.model.provider}/{served.data.model.id}
            {served.data.model.offline ? " (offline stand-in)" : ""}
          </dd>
          <dt>Tools</dt>
          <dd>{served.data.tools.length > 0 ? served.data.tools.join(", ") : "none"}</dd>
          <dt>Owner</dt>
          <dd>
            {latest
              ? [latest.owner.team, latest.owner.person].filter(Boolean).join(" · ") || "no owner"
              : "—"}
          </dd>
        </dl>
      ) : null}

      {rollout.error && !rollout.data ? <ErrorNote error={rollout.error} /> : null}
      {rollout.data ? <RolloutPanel status={rollout.data} /> : null}

      {registry.error && !registry.data ? <ErrorNote error={registry.error} /> : null}
      {registry.data ? <RegistryParts registry={registry.data} /> : null}

      <h2 id="policies-title">Policies</h2>
      {policies.error ? <ErrorNote error={policies.error} /> : null}
      {policies.data ? (
        policies.data.policies.length === 0 ? (
          <Empty>No policies: the governor holds none for this version.</Empty>
        ) : (
          <table aria-labelledby="policies-title">
            <thead>
              <tr>
                <th scope="col">Policy</th>
                <th scope="col">Effect</th>
                <th scope="col">Mode</th>
                <th scope="col">Source</th>
                <th scope="col">Reason</th>
              </tr>
            </thead>
            <tbody>
              {policies.data.policies.map((policy) => (
                <tr key={policy.id}>
                  <td>
                    <code>{policy.id}</code>
                  </td>
                  <td>{policy.effect}</td>
                  <td>{policy.mode}</td>
                  <td>{policy.source}</td>
                  <td>{policy.reason ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      ) : null}

      <h2>Registry card</h2>
      {card.error ? <ErrorNote error={card.error} /> : null}
      {card.data !== null ? (
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard
        <section class="json registry-card" aria-label="Registry card" tabIndex={0}>
          <pre>{card.data}</pre>
        </section>
      ) : null}
    </section>
  );
}

function RegistryParts(props: { registry: RegistryAgent }) {
  const { versions, attestations, history } = props.registry;
  return (
    <>
      <h2 id="versions-title">Versions</h2>
      <table aria-labelledby="versions-title">
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Status</th>
            <th scope="col">Risk tier</th>
            <th scope="col">Flags</th>
            <th scope="col">Next review</th>
            <th scope="col">Blocks activation</th>
          </tr>
        </thead>
        <tbody>
          {versions.map((entry) => (
            <tr key={entry.version}>
              <td>{entry.version}</td>
              <td>
                <StatusBadge status={entry.status} />
              </td>
              <td>{entry.riskTier}</td>
              <td>
                {entry.flags.length > 0 ? entry.flags.map((flag) => flag.replace(/_/g, " ")).join(", ") : "—"}
              </td>
              <td>{formatTime(entry.reviewDueAt)}</td>
              <td>
                {entry.blockers.length > 0 ? (
                  <ul class="blockers">
                    {entry.blockers.map((blocker) => (
                      <li key={blocker}>{blocker}</li>
                    ))}
                  </ul>
                ) : (
                  "nothing"
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2 id="attestations-title">Attestations of {props.registry.latest.version}</h2>
      {attestations.length === 0 ? (
        <Empty>No gate is attested yet.</Empty>
      ) : (
        <table aria-labelledby="attestations-title">
          <thead>
            <tr>
              <th scope="col">Gate</th>
              <th scope="col">By</th>
              <th scope="col">When</th>
              <th scope="col">Evidence</th>
            </tr>
          </thead>
          <tbody>
            {attestations.map((attestation) => (
              <tr key={attestation.id}>
                <td>{attestation.gate.replace(/_/g, " ")}</td>
                <td>{attestation.attestedBy}</td>
                <td>{formatTime(attestation.attestedAt)}</td>
                <td>{attestation.evidence}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h2 id="history-title">History</h2>
      {history.length === 0 ? (
        <Empty>Nothing has changed yet.</Empty>
      ) : (
        <table aria-labelledby="history-title">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">What</th>
              <th scope="col">Version</th>
            </tr>
          </thead>
          <tbody>
            {history.map((item, index) => (
              <tr key={index}>
                <td>{formatTime(item.at as string)}</td>
                <td>{String(item.actor ?? "")}</td>
                <td>{describeChange(item)}</td>
                <td>{String(item.version ?? "—")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

/** A history line in words, as the registry card writes it. */
function describeChange(item: Record<string, unknown>): string {
  const details = (item.details ?? {}) as Record<string, unknown>;
  switch (item.action) {
    case "status":
      return `status ${String(details.from)} → ${String(details.to)}${details.reason ? ` (${String(details.reason)})` : ""}`;
    case "attested":
      return `attested ${String(details.gate ?? "")}`;
    case "incident":
      return `incident: ${String(details.description ?? "")}`;
    case "review_requested":
      return `review asked for: ${String(details.reason ?? "")}`;
    default:
      return String(item.action ?? "").replace(/_/g, " ");
  }
}
