import { type Answer, api } from "../api.ts";
import { Empty, ErrorNote, Loading, PageHeader, StatusBadge, useLoad } from "../components.tsx";
import { formatTime } from "../format.ts";
import { href } from "../router.ts";
import { AgentPage } from "./agent-page.tsx";
import { killFor } from "./kill-switch-panel.tsx";

type Entry = Answer<"registry">["agents"][number];
type Served = Answer<"listAgents">["agents"][number];
type Kill = Answer<"listKillSwitches">["killSwitches"][number];

/** The agents section: the registry (`#/agents`) or one agent's page (`#/agents/<name>`). */
export function AgentsView(props: { agent?: string }) {
  return props.agent ? <AgentPage name={props.agent} /> : <AgentList />;
}

/**
 * Every agent of the tenant, from the registry (`GET /v1/registry`: versions, owner, tier, lifecycle status, flags,
 * what blocks activation) joined with what is served (`GET /v1/agents`) and the kill switches thrown.
 */
function AgentList() {
  const loaded = useLoad(
    () =>
      Promise.all([
        api<"registry">("/v1/registry"),
        api<"listAgents">("/v1/agents"),
        api<"listKillSwitches">("/v1/kill-switches"),
      ]),
    [],
  );
  if (loaded.error && !loaded.data) return <ErrorNote error={loaded.error} retry={loaded.reload} />;
  if (!loaded.data) return <Loading what="the agents" />;
  const [registry, served, kills] = loaded.data;
  const names = [
    ...new Set([...served.agents.map((agent) => agent.name), ...registry.agents.map((entry) => entry.agent)]),
  ].sort();
  const byStatus = registry.summary.byStatus as Record<string, number> | undefined;
  return (
    <section>
      <PageHeader
        title="Agents"
        subtitle="The registry: who owns each agent, its risk tier, where it stands in its lifecycle, and what stops it."
      />
      {byStatus ? (
        <ul class="cards" aria-label="Versions by lifecycle status">
          {Object.entries(byStatus).map(([status, count]) => (
            <li class="card stat" key={status}>
              <span class="value">{count}</span> <span class="label">{status.replace(/_/g, " ")}</span>
            </li>
          ))}
        </ul>
      ) : null}
      {names.length === 0 ? (
        <Empty>This tenant has no agents yet.</Empty>
      ) : (
        <table class="agents-table">
          <caption class="visually-hidden">Agents of this tenant</caption>
          <thead>
            <tr>
              <th scope="col">Agent</th>
              <th scope="col">Versions</th>
              <th scope="col">Owner</th>
              <th scope="col">Risk tier</th>
              <th scope="col">Status</th>
              <th scope="col">Flags</th>
              <th scope="col">Blocks activation</th>
              <th scope="col">Kill switch</th>
            </tr>
          </thead>
          <tbody>
            {names.map((name) => (
              <AgentRow
                key={name}
                name={name}
                versions={registry.agents.filter((entry) => entry.agent === name)}
                served={served.agents.find((agent) => agent.name === name)}
                kill={killFor(kills.killSwitches, name)}
              />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function AgentRow(props: { name: string; versions: Entry[]; served: Served | undefined; kill: Kill | null }) {
  const latest =
    props.versions.find((entry) => entry.version === props.served?.version) ?? props.versions.at(-1);
  return (
    <tr>
      <th scope="row">
        <a href={href("agents", props.name)}>{props.name}</a>
        {latest?.description ? <div class="hint">{latest.description}</div> : null}
      </th>
      <td>
        {props.versions.length > 0
          ? props.versions.map((entry) => entry.version).join(", ")
          : (props.served?.version ?? "—")}
        {props.served ? <div class="hint">serving {props.served.version}</div> : null}
      </td>
      <td>
        {latest ? [latest.owner.team, latest.owner.person].filter(Boolean).join(" · ") || "no owner" : "—"}
      </td>
      <td>{latest?.riskTier ?? props.served?.riskTier ?? "—"}</td>
      <td>{latest ? <StatusBadge status={latest.status} /> : "not registered"}</td>
      <td>
        {latest && latest.flags.length > 0
          ? latest.flags.map((flag) => flag.replace(/_/g, " ")).join(", ")
          : "—"}
      </td>
      <td>
        {latest && latest.blockers.length > 0 ? (
          <ul class="blockers">
            {latest.blockers.map((blocker) => (
              <li key={blocker}>{blocker}</li>
            ))}
          </ul>
        ) : latest ? (
          "nothing"
        ) : (
          "—"
        )}
      </td>
      <td>
        {props.kill ? (
          <span>
            <span class="badge badge-bad">stopped</span> since {formatTime(props.kill.killedAt)}
          </span>
        ) : (
          "off"
        )}
      </td>
    </tr>
  );
}
