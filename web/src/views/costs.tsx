import { api, query } from "../api.ts";
import { Bar } from "../bar.tsx";
import { Empty, ErrorNote, type Loaded, Loading, PageHeader, StatusBadge, useLoad } from "../components.tsx";
import { formatCount, formatPercent, formatTime, formatUsd } from "../format.ts";
import { RangeAndAgentFilters } from "../range-filters.tsx";
import { href, navigate } from "../router.ts";

/** The time ranges the view offers, as the API's `since` takes them (a duration back from now). */
const RANGES = [
  { value: "24h", label: "Last 24 hours" },
  { value: "7d", label: "Last 7 days" },
  { value: "30d", label: "Last 30 days" },
  { value: "90d", label: "Last 90 days" },
] as const;

const GROUPS = [
  { by: "agent", title: "By agent", column: "Agent" },
  { by: "model", title: "By model", column: "Model" },
  { by: "phase", title: "By phase", column: "Phase" },
  { by: "day", title: "By day (UTC)", column: "Day" },
] as const;
type Group = (typeof GROUPS)[number]["by"];

/** A row of `GET /v1/costs`: the group's value and what its model calls cost. */
type CostRow = Partial<Record<Group, string>> & {
  costUsd: number;
  calls: number;
  inputTokens: number;
  outputTokens: number;
};
/** A run of `GET /v1/telemetry/top`. */
type TopRun = {
  runId: string;
  agent: string;
  agentVersion: string;
  status: string;
  startedAt: string;
  costUsd: number;
  modelCalls: number;
  inputTokens: number;
  outputTokens: number;
};

/**
 * Costs: what the tenant's model calls cost by agent, model, phase and day over a chosen range, the most expensive
 * runs, and how far each daily budget has burned today. Range and agent live in the URL, so a view can be shared.
 */
export function CostsView(props: { query: URLSearchParams }) {
  const asked = props.query.get("range");
  const range = RANGES.find((item) => item.value === asked)?.value ?? "7d";
  const agent = props.query.get("agent") ?? "";
  const window = { since: range, agent };

  const agents = useLoad(() => api<"listAgents">("/v1/agents"), []);
  const costs = useLoad(
    () =>
      Promise.all(
        GROUPS.map(
          async ({ by }) => (await api<"costs">(`/v1/costs${query({ by, ...window })}`)).costs as CostRow[],
        ),
      ),
    [range, agent],
  );
  const top = useLoad(
    () => api<"topRuns">(`/v1/telemetry/top${query({ by: "cost", limit: 10, ...window })}`),
    [range, agent],
  );
  const budgets = useLoad(() => api<"budgets">("/v1/budgets"), []);

  const choose = (fields: { range?: string; agent?: string }) =>
    navigate(href("costs", { range, agent, ...fields }));
  const rangeLabel = RANGES.find((item) => item.value === range)?.label ?? range;

  return (
    <section>
      <PageHeader title="Costs" subtitle="What model calls cost, priced from the usage each run journaled." />
      <RangeAndAgentFilters
        idPrefix="costs"
        label="Cost filters"
        ranges={RANGES}
        range={range}
        agent={agent}
        agents={agents.data?.agents}
        choose={choose}
      />

      <BudgetBurn budgets={budgets} />

      <h2>
        Spend · {rangeLabel.toLowerCase()}
        {agent ? ` · ${agent}` : ""}
      </h2>
      <ErrorNote error={costs.error} retry={costs.reload} />
      {costs.data === null ? (
        costs.loading ? (
          <Loading what="costs" />
        ) : null
      ) : (
        <CostTables rows={costs.data} />
      )}

      <h2 id="top-runs">Most expensive runs</h2>
      <ErrorNote error={top.error} retry={top.reload} />
      {top.data === null ? (
        top.loading ? (
          <Loading what="the most expensive runs" />
        ) : null
      ) : (
        <TopRuns runs={top.data.runs as TopRun[]} />
      )}
    </section>
  );
}

function CostTables(props: { rows: CostRow[][] }) {
  const byAgent = props.rows[0] ?? [];
  if (byAgent.length === 0)
    return <Empty>No model calls in this range. Costs appear once runs call a priced model.</Empty>;
  const total = byAgent.reduce((sum, row) => sum + row.costUsd, 0);
  const calls = byAgent.reduce((sum, row) => sum + row.calls, 0);
  const tokens = byAgent.reduce((sum, row) => sum + row.inputTokens + row.outputTokens, 0);
  return (
    <>
      <div class="cards">
        <div class="card stat">
          <div class="value" data-testid="costs-total">
            {formatUsd(total)}
          </div>
          <div class="label">spent</div>
        </div>
        <div class="card stat">
          <div class="value">{formatCount(calls)}</div>
          <div class="label">model calls</div>
        </div>
        <div class="card stat">
          <div class="value">{formatCount(tokens)}</div>
          <div class="label">tokens (input and output)</div>
        </div>
      </div>
      <div class="cost-groups">
        {GROUPS.map((group, index) => (
          <CostTable key={group.by} group={group} rows={props.rows[index] ?? []} />
        ))}
      </div>
    </>
  );
}

function CostTable(props: { group: (typeof GROUPS)[number]; rows: CostRow[] }) {
  const { group } = props;
  const rows =
    group.by === "day"
      ? [...props.rows].sort((a, b) => String(a.day).localeCompare(String(b.day)))
      : [...props.rows].sort((a, b) => b.costUsd - a.costUsd);
  const largest = Math.max(0, ...rows.map((row) => row.costUsd));
  return (
    <table class="cost-table">
      <caption>{group.title}</caption>
      <thead>
        <tr>
          <th scope="col">{group.column}</th>
          <th scope="col" class="number">
            Cost
          </th>
          <th scope="col">
            <span class="visually-hidden">Share of the largest</span>
          </th>
          <th scope="col" class="number">
            Calls
          </th>
          <th scope="col" class="number">
            Tokens
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => {
          const name = row[group.by] ?? "—";
          return (
            <tr key={name}>
              <th scope="row">
                {group.by === "agent" ? (
                  <a href={href("costs", { agent: name })}>{name}</a>
                ) : group.by === "model" ? (
                  <code>{name}</code>
                ) : (
                  name
                )}
              </th>
              <td class="number">{formatUsd(row.costUsd)}</td>
              <td class="bar-cell">
                <Bar fraction={largest === 0 ? 0 : row.costUsd / largest} />
              </td>
              <td class="number">{formatCount(row.calls)}</td>
              <td class="number">{formatCount(row.inputTokens + row.outputTokens)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function TopRuns(props: { runs: TopRun[] }) {
  if (props.runs.length === 0) return <Empty>No runs in this range.</Empty>;
  return (
    <table aria-labelledby="top-runs">
      <thead>
        <tr>
          <th scope="col">Run</th>
          <th scope="col">Agent</th>
          <th scope="col">Status</th>
          <th scope="col">Started</th>
          <th scope="col" class="number">
            Model calls
          </th>
          <th scope="col" class="number">
            Tokens
          </th>
          <th scope="col" class="number">
            Cost
          </th>
        </tr>
      </thead>
      <tbody>
        {props.runs.map((run) => (
          <tr key={run.runId}>
            <td>
              <a href={href("runs", run.runId)}>
                <code>{run.runId}</code>
              </a>
            </td>
            <td>
              {run.agent} <span class="hint">{run.agentVersion}</span>
            </td>
            <td>
              <StatusBadge status={run.status} />
            </td>
            <td>{formatTime(run.startedAt)}</td>
            <td class="number">{formatCount(run.modelCalls)}</td>
            <td class="number">{formatCount(run.inputTokens + run.outputTokens)}</td>
            <td class="number">{formatUsd(run.costUsd)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

type Budget = {
  scope: string;
  kind: "agent" | "tenant";
  period: string;
  declaredBy: string[];
  limitUsd: number | null;
  limitTokens: number | null;
  spentUsd: number;
  spentTokens: number;
  reservedUsd: number;
  reservedTokens: number;
};

/** Each daily cap the tenant's agents declare, spent against it today: a bar, and the numbers in words. */
function BudgetBurn(props: { budgets: Loaded<{ day: string; budgets: Budget[] }> }) {
  const { data, error, loading, reload } = props.budgets;
  return (
    <>
      <h2 id="budget-burn">Budget burn{data ? ` · today (${data.day}, UTC)` : ""}</h2>
      <ErrorNote error={error} retry={reload} />
      {data === null ? (
        loading ? (
          <Loading what="budgets" />
        ) : null
      ) : data.budgets.length === 0 ? (
        <Empty>
          No agent declares a daily budget (<code>budgets.perAgentPerDay</code> or{" "}
          <code>budgets.perTenantPerDay</code> in its spec).
        </Empty>
      ) : (
        <table aria-labelledby="budget-burn">
          <thead>
            <tr>
              <th scope="col">Budget</th>
              <th scope="col">Declared by</th>
              <th scope="col">Spent of cap</th>
              <th scope="col">
                <span class="visually-hidden">Burn</span>
              </th>
              <th scope="col" class="number">
                Held now
              </th>
            </tr>
          </thead>
          <tbody>
            {data.budgets.map((budget) => {
              const burn = burnOf(budget);
              return (
                <tr key={budget.scope}>
                  <th scope="row">
                    {budget.kind === "agent" ? "Agent" : "Tenant"} <code>{budget.scope.split(":")[1]}</code>
                  </th>
                  <td>{budget.declaredBy.join(", ")}</td>
                  <td data-testid={`budget-${budget.scope}`}>
                    {budget.limitUsd !== null
                      ? `${formatUsd(budget.spentUsd)} of ${formatUsd(budget.limitUsd)}`
                      : null}
                    {budget.limitUsd !== null && budget.limitTokens !== null ? "; " : null}
                    {budget.limitTokens !== null
                      ? `${formatCount(budget.spentTokens)} of ${formatCount(budget.limitTokens)} tokens`
                      : null}{" "}
                    ({formatPercent(burn)})
                  </td>
                  <td class="bar-cell">
                    <Bar fraction={burn} tone={burn >= 1 ? "bad" : burn >= 0.8 ? "warn" : "good"} />
                  </td>
                  <td class="number">
                    {formatUsd(budget.reservedUsd)}
                    {budget.limitTokens !== null ? ` · ${formatCount(budget.reservedTokens)} tokens` : ""}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </>
  );
}

/** How much of its cap a budget has spent: the larger share when it caps both dollars and tokens. */
function burnOf(budget: Budget): number {
  return Math.max(
    budget.limitUsd ? budget.spentUsd / budget.limitUsd : 0,
    budget.limitTokens ? budget.spentTokens / budget.limitTokens : 0,
  );
}
