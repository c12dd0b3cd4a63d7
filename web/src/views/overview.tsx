import { useMemo } from "preact/hooks";
import { type Answer, api, query } from "../api.ts";
import { Chart, type ChartSeries } from "../chart.tsx";
import { Empty, ErrorNote, Loading, PageHeader, useLoad } from "../components.tsx";
import { formatCount, formatDuration, formatPercent, formatTime, formatUsd } from "../format.ts";
import { RangeAndAgentFilters } from "../range-filters.tsx";
import { href, navigate } from "../router.ts";

/** The time ranges the overview offers, as the API's durations back from now. */
const RANGES = [
  { value: "1h", label: "Last hour", per: "minute" },
  { value: "24h", label: "Last 24 hours", per: "hour" },
  { value: "7d", label: "Last 7 days", per: "hour" },
] as const;
type Range = (typeof RANGES)[number];

/** The most pending approvals the overview reads (the API's largest page); more show as "500+". */
const APPROVALS_READ = 500;

/** An approval due within this long is "due soon". */
const DUE_SOON_MS = 3_600_000;

type Overview = {
  range: Range;
  agent: string;
  activity: Answer<"activity">;
  agents: Answer<"listAgents">["agents"];
  costs: Answer<"costs">["costs"];
  approvals: Answer<"listApprovals">["approvals"];
};

/**
 * What the tenant's agents are doing, for a time range and one agent or all: runs over time, success rate, latency,
 * today's spend against each agent's daily budget, the approval queue by SLA, drift alarms and open guard flags. The
 * range and agent live in the URL (`#/?range=24h&agent=…`), so a view can be shared and reloaded.
 */
export function OverviewView(props: { query: URLSearchParams }) {
  const range = RANGES.find((item) => item.value === props.query.get("range")) ?? RANGES[0];
  const agent = props.query.get("agent") ?? "";
  const loaded = useLoad(() => loadOverview(range, agent), [range.value, agent]);
  const choose = (fields: { range?: string; agent?: string }) =>
    navigate(href("", { range: range.value, agent, ...fields }));
  const data = loaded.data;

  return (
    <section class="overview">
      <PageHeader
        title="Overview"
        subtitle="Runs, latency, spend, approvals and alarms of your tenant's agents."
      />
      <RangeAndAgentFilters
        idPrefix="overview"
        ranges={RANGES}
        range={range.value}
        agent={agent}
        agents={data?.agents}
        choose={choose}
      />
      <ErrorNote error={loaded.error} retry={loaded.reload} />
      {data ? (
        <OverviewBody data={data} busy={loaded.loading} />
      ) : loaded.error ? null : (
        <Loading what="the overview" />
      )}
    </section>
  );
}

async function loadOverview(range: Range, agent: string): Promise<Overview> {
  const today = new Date();
  today.setUTCHours(0, 0, 0, 0);
  const [activity, agents, costs, approvals] = await Promise.all([
    api<"activity">(`/v1/telemetry/activity${query({ since: range.value, agent, bucket: range.per })}`),
    api<"listAgents">("/v1/agents"),
    api<"costs">(`/v1/costs${query({ by: "agent", since: today.toISOString(), agent })}`),
    api<"listApprovals">(`/v1/approvals${query({ status: "pending", limit: APPROVALS_READ, agent })}`),
  ]);
  return {
    range,
    agent,
    activity,
    agents: agents.agents,
    costs: costs.costs,
    approvals: approvals.approvals,
  };
}

function OverviewBody(props: { data: Overview; busy: boolean }) {
  const { range, agent, activity } = props.data;
  const { totals } = activity;
  const scope = `${range.label.toLowerCase()}, ${agent === "" ? "all agents" : agent}`;
  const runs = (fields: Record<string, string>) =>
    href("runs", { ...(agent ? { agent } : {}), since: range.value, ...fields });
  const pending = props.data.approvals;
  const now = Date.now();
  const overdue = pending.filter((item) => item.overdue).length;
  const dueSoon = pending.filter(
    (item) => !item.overdue && Date.parse(item.expiresAt) - now <= DUE_SOON_MS,
  ).length;
  // A guard flag is open while the input or tool result it flagged waits for a person (an approval of kind guard).
  const guardHeld = pending.filter((item) => item.kind === "guard").length;

  return (
    <div aria-busy={props.busy ? "true" : "false"}>
      <section class="cards" aria-label={`Key figures, ${scope}`}>
        <Figure label="Runs started" value={formatCount(totals.started)} link={runs({})} />
        <Figure
          label="Success rate"
          value={formatPercent(totals.successRate)}
          note={`${formatCount(totals.completed)} of ${formatCount(totals.ended)} ended`}
        />
        <Figure
          label="Failed runs"
          value={formatCount(totals.failed)}
          link={runs({ status: "failed" })}
          tone={totals.failed > 0 ? "bad" : undefined}
        />
        <Figure label="p50 latency" value={formatDuration(totals.p50LatencyMs)} />
        <Figure label="p95 latency" value={formatDuration(totals.p95LatencyMs)} />
        <Figure
          label="Approvals pending"
          value={`${formatCount(pending.length)}${pending.length === APPROVALS_READ ? "+" : ""}`}
          link={href("approvals", agent ? { agent } : {})}
        />
        <Figure
          label="Approvals overdue"
          value={formatCount(overdue)}
          link={href("approvals", { overdue: "true", ...(agent ? { agent } : {}) })}
          tone={overdue > 0 ? "bad" : undefined}
        />
        <Figure
          label="Due within an hour"
          value={formatCount(dueSoon)}
          link={href("approvals", agent ? { agent } : {})}
          tone={dueSoon > 0 ? "warn" : undefined}
        />
        <Figure
          label="Drift alarms"
          value={formatCount(activity.driftAlarms.length)}
          tone={activity.driftAlarms.length > 0 ? "bad" : undefined}
        />
        <Figure
          label="Guard flags open"
          value={formatCount(guardHeld)}
          note="held for a person"
          link={href("approvals", { kind: "guard", ...(agent ? { agent } : {}) })}
          tone={guardHeld > 0 ? "warn" : undefined}
        />
      </section>
      <ActivityCharts activity={activity} range={range} />
      <div class="overview-columns">
        <BudgetTable data={props.data} />
        <ApprovalsBySla approvals={pending} now={now} />
      </div>
      <DriftAlarms alarms={activity.driftAlarms} />
    </div>
  );
}

function Figure(props: {
  label: string;
  value: string;
  link?: string;
  note?: string;
  tone?: "bad" | "warn" | undefined;
}) {
  return (
    <div class={`card stat${props.tone ? ` stat-${props.tone}` : ""}`}>
      <p class="label">{props.label}</p>
      <p class="value">{props.link ? <a href={props.link}>{props.value}</a> : props.value}</p>
      {props.note ? <p class="note">{props.note}</p> : null}
    </div>
  );
}

function ActivityCharts(props: { activity: Answer<"activity">; range: Range }) {
  const { series, bucket } = props.activity;
  const times = useMemo(() => series.map((point) => Date.parse(point.at)), [series]);
  const counts = useMemo<ChartSeries[]>(
    () => [
      { label: "Started", values: series.map((point) => point.started), colour: "#0a57a4", kind: "bars" },
      { label: "Failed", values: series.map((point) => point.failed), colour: "#a3192b", kind: "bars" },
    ],
    [series],
  );
  const latency = useMemo<ChartSeries[]>(
    () => [
      {
        label: "p50 latency",
        values: series.map((point) => point.p50LatencyMs),
        colour: "#0a57a4",
        kind: "line",
      },
      {
        label: "p95 latency",
        values: series.map((point) => point.p95LatencyMs),
        colour: "#7a4a00",
        kind: "line",
      },
    ],
    [series],
  );
  const format = (ms: number) => (bucket === "minute" ? minuteFormat : hourFormat).format(new Date(ms));
  const busiest = series.reduce((best, point) => (point.started > best.started ? point : best), series[0]!);
  const { totals } = props.activity;
  return (
    <div class="overview-charts">
      <Chart
        title={`Runs per ${bucket}`}
        summary={`${formatCount(totals.started)} runs started and ${formatCount(totals.failed)} failed over ${props.range.label.toLowerCase()} in ${series.length} buckets of a ${bucket}; the busiest, ${busiest ? format(Date.parse(busiest.at)) : "none"}, had ${formatCount(busiest?.started ?? 0)}.`}
        times={times}
        series={counts}
        formatTime={format}
      />
      <Chart
        title="Latency"
        summary={`Run latency per ${bucket}: p50 ${formatDuration(totals.p50LatencyMs)} and p95 ${formatDuration(totals.p95LatencyMs)} over the whole range.`}
        times={times}
        series={latency}
        formatTime={format}
        formatValue={formatDuration}
      />
    </div>
  );
}

const minuteFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const hourFormat = new Intl.DateTimeFormat(undefined, {
  weekday: "short",
  hour: "2-digit",
  minute: "2-digit",
});

/** Today's spend (UTC day, as budgets count it) per agent against the daily cap it declares. */
function BudgetTable(props: { data: Overview }) {
  const { agents, costs, agent } = props.data;
  const spent = new Map(costs.map((row) => [String(row.agent), Number(row.costUsd)]));
  const shown = agents.filter((item) => agent === "" || item.name === agent);
  return (
    <section class="card">
      <h2>Cost today</h2>
      {shown.length === 0 ? (
        <Empty>No agents are served.</Empty>
      ) : (
        <table>
          <caption class="visually-hidden">Spend today per agent against its daily budget</caption>
          <thead>
            <tr>
              <th scope="col">Agent</th>
              <th scope="col">Spent today</th>
              <th scope="col">Daily budget</th>
              <th scope="col">Used</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((item) => {
              const cost = spent.get(item.name) ?? 0;
              const cap = item.budgets.perAgentPerDay?.usd;
              const used = cap === undefined ? null : cost / cap;
              return (
                <tr key={item.name}>
                  <th scope="row">
                    <a href={href("costs", { agent: item.name })}>{item.name}</a>
                  </th>
                  <td>{formatUsd(cost)}</td>
                  <td>{cap === undefined ? "none declared" : formatUsd(cap)}</td>
                  <td>
                    {used === null ? (
                      "—"
                    ) : (
                      <span class={used >= 1 ? "badge badge-bad" : used >= 0.8 ? "badge badge-warn" : ""}>
                        {formatPercent(used)}
                      </span>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** Pending approvals per queue: overdue, due within the hour, and later. */
function ApprovalsBySla(props: { approvals: Answer<"listApprovals">["approvals"]; now: number }) {
  const queues = new Map<string, { pending: number; dueSoon: number; overdue: number }>();
  for (const item of props.approvals) {
    const queue = queues.get(item.routeTo) ?? { pending: 0, dueSoon: 0, overdue: 0 };
    queues.set(item.routeTo, queue);
    queue.pending += 1;
    if (item.overdue) queue.overdue += 1;
    else if (Date.parse(item.expiresAt) - props.now <= DUE_SOON_MS) queue.dueSoon += 1;
  }
  return (
    <section class="card">
      <h2>Approvals by SLA</h2>
      {queues.size === 0 ? (
        <Empty>Nothing is waiting for a person.</Empty>
      ) : (
        <table>
          <caption class="visually-hidden">
            Pending approval requests per queue by how soon they are due
          </caption>
          <thead>
            <tr>
              <th scope="col">Queue</th>
              <th scope="col">Pending</th>
              <th scope="col">Due within an hour</th>
              <th scope="col">Overdue</th>
            </tr>
          </thead>
          <tbody>
            {[...queues].map(([queue, counts]) => (
              <tr key={queue}>
                <th scope="row">
                  <a href={href("approvals", { team: queue })}>{queue}</a>
                </th>
                <td>{formatCount(counts.pending)}</td>
                <td>{formatCount(counts.dueSoon)}</td>
                <td>{formatCount(counts.overdue)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function DriftAlarms(props: { alarms: Answer<"activity">["driftAlarms"] }) {
  return (
    <section class="card overview-drift">
      <h2>Drift alarms</h2>
      {props.alarms.length === 0 ? (
        <Empty>No drift alarm was raised in this range.</Empty>
      ) : (
        <ul>
          {props.alarms.map((alarm) => (
            <li key={alarm.runId}>
              <a href={href("runs", alarm.runId)}>{alarm.agent}</a>: {alarm.dimensions.join(", ")} moved ·{" "}
              {formatTime(alarm.at)}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
