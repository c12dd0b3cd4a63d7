import { useEffect, useState } from "preact/hooks";
import { type Answer, ApiError, api, query } from "../api.ts";
import { Empty, ErrorNote, Loading, PageHeader, StatusBadge, useLoad } from "../components.tsx";
import { formatDuration, formatTime, formatUsd } from "../format.ts";
import { href, navigate } from "../router.ts";
import { may, useMe } from "../session.ts";
import { readsTelemetry } from "./reads-telemetry.ts";

/** The filters a list link carries (`#/runs?agent=…&status=…`), as the trace search names them. */
const FILTERS = [
  "agent",
  "version",
  "status",
  "tool",
  "policy",
  "path",
  "errors",
  "minCost",
  "maxCost",
  "since",
  "until",
] as const;
type Filter = (typeof FILTERS)[number];
type Filters = Partial<Record<Filter, string>>;

/** The filters an invoker's list can apply: `GET /v1/runs` takes these; the trace search is for readers. */
const INVOKER_FILTERS: readonly Filter[] = ["agent", "status"];

const STATUSES = ["queued", "running", "suspended", "completed", "failed", "cancelled", "budget_exceeded"];
const DECISIONS = [
  ["denied", "denied by policy"],
  ["review", "held for review"],
  ["approved", "approved by a person"],
  ["rejected", "rejected by a person"],
  ["allowed", "allowed"],
] as const;
const PAGE = 50;

/** One row of the list, from the trace search (with cost, duration, path) or the run list (without). */
type RunRow = {
  id: string;
  agent: string;
  version: string;
  status: string;
  startedAt: string;
  durationMs: number | null;
  costUsd: number | null;
  path: readonly string[] | null;
  input: string | null;
};

/**
 * The runs list: filters in the link, newest runs first, and a form to start a run for callers who may. Readers
 * search with the trace search (cost, latency, tool, decision path), joined with the runs' inputs in one more call;
 * an invoker, who may not read telemetry, lists runs by agent and status.
 */
export function RunsView(props: { query: URLSearchParams }) {
  const me = useMe();
  const searches = readsTelemetry(me);
  const applied = filtersOf(props.query, searches);
  const limit = Math.min(500, Math.max(PAGE, Number(props.query.get("limit")) || PAGE));
  const agents = useLoad(() => api<"listAgents">("/v1/agents"), []);
  const runs = useLoad(
    () => (searches ? searchRuns(applied, limit) : listRuns(applied, limit)),
    [props.query.toString()],
  );
  const older = useOlderRuns(applied, runs.data, props.query.toString());
  const filtered = Object.keys(applied).length > 0;
  return (
    <section>
      <PageHeader
        title="Runs"
        subtitle={
          searches
            ? "Newest first. Filter by agent, version, status, tool, decision, errors, cost and time; a filtered list is a link."
            : "Newest first. Filter by agent and status; a filtered list is a link."
        }
      />
      {may(me, "invoke") ? <StartRun agents={agents.data?.agents ?? []} /> : null}
      <FilterForm
        applied={applied}
        fields={searches ? FILTERS : INVOKER_FILTERS}
        agents={(agents.data?.agents ?? []).map((agent) => agent.name)}
      />
      <ErrorNote error={runs.error} retry={runs.reload} />
      {runs.data === null ? (
        runs.error ? null : (
          <Loading what="runs" />
        )
      ) : runs.data.rows.length === 0 ? (
        <Empty>{filtered ? "No run matches these filters." : "No runs yet."}</Empty>
      ) : (
        <>
          <RunsTable rows={[...runs.data.rows, ...older.rows]} searches={searches} />
          <ErrorNote error={older.error} retry={older.more} />
          {searches ? (
            runs.data.rows.length >= limit && limit < 500 ? (
              <p>
                <a href={href("runs", { ...applied, limit: Math.min(500, limit + PAGE * 2) })}>
                  Show more runs
                </a>
              </p>
            ) : null
          ) : older.nextCursor !== null ? (
            <p>
              <button type="button" class="link-button" onClick={older.more} disabled={older.loading}>
                Show more runs
              </button>
            </p>
          ) : null}
        </>
      )}
    </section>
  );
}

function filtersOf(search: URLSearchParams, searches: boolean): Filters {
  const filters: Filters = {};
  for (const name of searches ? FILTERS : INVOKER_FILTERS) {
    const value = search.get(name)?.trim();
    if (value) filters[name] = value;
  }
  return filters;
}

/** Rows of the list, and where the run list's next page starts (the trace search pages by a longer link instead). */
type RunsPage = { rows: RunRow[]; nextCursor: string | null };

/**
 * The run list's pages after the first, read with each page's `nextCursor` and shown below it: a page continues
 * exactly where the last stopped, however many runs share its last run's instant. Cleared when the filters change.
 */
function useOlderRuns(filters: Filters, first: RunsPage | null, key: string) {
  const [older, setOlder] = useState<RunsPage | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(false);
  useEffect(() => {
    setOlder(null);
    setError(null);
  }, [key, first]);
  const nextCursor = older ? older.nextCursor : (first?.nextCursor ?? null);
  const more = () => {
    if (nextCursor === null) return;
    setLoading(true);
    listRuns(filters, PAGE, nextCursor).then(
      (page) => {
        setOlder((previous) => ({
          rows: [...(previous?.rows ?? []), ...page.rows],
          nextCursor: page.nextCursor,
        }));
        setError(null);
        setLoading(false);
      },
      (failure: unknown) => {
        setError(failure instanceof ApiError ? failure : new ApiError(0, "internal", String(failure)));
        setLoading(false);
      },
    );
  };
  return { rows: older?.rows ?? [], nextCursor, error, loading, more };
}

async function searchRuns(filters: Filters, limit: number): Promise<RunsPage> {
  const { runs } = await api<"searchTraces">(`/v1/traces${query({ ...filters, limit })}`);
  if (runs.length === 0) return { rows: [], nextCursor: null };
  // The trace search carries no input: read the page's runs by id, in one call.
  const { runs: details } = await api<"listRuns">(
    `/v1/runs${query({ ids: runs.map((run) => run.runId).join(","), limit: 500 })}`,
  );
  const inputs = new Map(details.map((run) => [run.id, run.input]));
  const rows = runs.map((run) => ({
    id: run.runId,
    agent: run.agent,
    version: run.agentVersion,
    status: run.status,
    startedAt: run.startedAt,
    durationMs: run.durationMs,
    costUsd: run.costUsd,
    path: run.path,
    input: inputs.get(run.runId) ?? null,
  }));
  return { rows, nextCursor: null };
}

async function listRuns(filters: Filters, limit: number, cursor?: string): Promise<RunsPage> {
  const { runs, nextCursor } = await api<"listRuns">(`/v1/runs${query({ ...filters, limit, cursor })}`);
  const rows = runs.map((run: Answer<"listRuns">["runs"][number]) => ({
    id: run.id,
    agent: run.agent,
    version: run.agentVersion,
    status: run.status,
    startedAt: run.createdAt,
    durationMs: null,
    costUsd: null,
    path: null,
    input: run.input,
  }));
  return { rows, nextCursor };
}

function FilterForm(props: { applied: Filters; fields: readonly Filter[]; agents: readonly string[] }) {
  const [draft, setDraft] = useState<Filters>(props.applied);
  const appliedKey = JSON.stringify(props.applied);
  useEffect(() => setDraft(props.applied), [appliedKey]);
  const shows = (name: Filter) => props.fields.includes(name);
  const set = (name: Filter) => (event: { currentTarget: { value: string } }) =>
    setDraft((previous) => ({ ...previous, [name]: event.currentTarget.value }));
  const text = (name: Filter, label: string, hint?: string) =>
    shows(name) ? (
      <div class="field">
        <label for={`filter-${name}`}>{label}</label>
        <input
          id={`filter-${name}`}
          value={draft[name] ?? ""}
          onInput={set(name)}
          {...(hint ? { placeholder: hint, title: hint } : {})}
        />
      </div>
    ) : null;
  const agentNames = [...new Set([...props.agents, ...(draft.agent ? [draft.agent] : [])])];
  return (
    <form
      class="filters runs-filters"
      aria-label="Filter runs"
      onSubmit={(event) => {
        event.preventDefault();
        navigate(href("runs", draft));
      }}
    >
      <div class="field">
        <label for="filter-agent">Agent</label>
        <select id="filter-agent" value={draft.agent ?? ""} onChange={set("agent")}>
          <option value="">any agent</option>
          {agentNames.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </div>
      {text("version", "Version", "e.g. 1.0.0")}
      <div class="field">
        <label for="filter-status">Status</label>
        <select id="filter-status" value={draft.status ?? ""} onChange={set("status")}>
          <option value="">any status</option>
          {STATUSES.map((status) => (
            <option key={status} value={status}>
              {status.replace(/_/g, " ")}
            </option>
          ))}
        </select>
      </div>
      {text("tool", "Tool called", "e.g. issue_refund")}
      {shows("policy") ? (
        <div class="field">
          <label for="filter-policy">Decision</label>
          <select id="filter-policy" value={draft.policy ?? ""} onChange={set("policy")}>
            <option value="">any decision</option>
            {DECISIONS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </div>
      ) : null}
      {text("path", "Decision path", "e.g. issue_refund:review > issue_refund:approved")}
      {shows("errors") ? (
        <div class="field">
          <label for="filter-errors">Errors</label>
          <select id="filter-errors" value={draft.errors ?? ""} onChange={set("errors")}>
            <option value="">with or without</option>
            <option value="true">a tool failed or the run did</option>
            <option value="false">none</option>
          </select>
        </div>
      ) : null}
      {text("minCost", "Cost at least ($)", "e.g. 0.01")}
      {text("maxCost", "Cost at most ($)", "e.g. 1")}
      {text("since", "Started after", "24h, 7d or a date")}
      {text("until", "Started before", "1h or a date")}
      <div class="field filter-actions">
        <button type="submit">Apply filters</button>
      </div>
      {Object.keys(props.applied).length > 0 ? (
        <div class="field filter-actions">
          <a href={href("runs")}>Clear filters</a>
        </div>
      ) : null}
    </form>
  );
}

function RunsTable(props: { rows: readonly RunRow[]; searches: boolean }) {
  return (
    <table class="runs-table">
      <caption class="visually-hidden">Runs, newest first</caption>
      <thead>
        <tr>
          <th scope="col">Run</th>
          <th scope="col">Agent</th>
          <th scope="col">Status</th>
          <th scope="col">Started</th>
          {props.searches ? (
            <>
              <th scope="col" class="number">
                Duration
              </th>
              <th scope="col" class="number">
                Cost
              </th>
              <th scope="col">Decision path</th>
            </>
          ) : null}
          <th scope="col">Input</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((row) => (
          <tr key={row.id}>
            <td>
              <a href={href("runs", row.id)}>
                <code>{row.id}</code>
              </a>
            </td>
            <td>
              {row.agent}@{row.version}
            </td>
            <td>
              <StatusBadge status={row.status} />
            </td>
            <td>{formatTime(row.startedAt)}</td>
            {props.searches ? (
              <>
                <td class="number">{formatDuration(row.durationMs)}</td>
                <td class="number">{formatUsd(row.costUsd)}</td>
                <td>
                  <PathSummary path={row.path ?? []} />
                </td>
              </>
            ) : null}
            <td class="input-excerpt">{excerpt(row.input)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A run's decision path in words: each tool call's policy and outcome, in order (`issue_refund: review → approved`). */
function PathSummary(props: { path: readonly string[] }) {
  if (props.path.length === 0) return <span class="hint">no tool calls</span>;
  const steps: { tool: string; verbs: string[] }[] = [];
  for (const entry of props.path) {
    const at = entry.lastIndexOf(":");
    const tool = entry.slice(0, at);
    const verb = entry.slice(at + 1);
    const last = steps.at(-1);
    if (last && last.tool === tool) last.verbs.push(verb);
    else steps.push({ tool, verbs: [verb] });
  }
  const shown = steps.slice(0, 4);
  return (
    <span class="path-summary">
      {shown.map((step, index) => (
        <span key={`${index}-${step.tool}`} class="path-step">
          <code>{step.tool}</code>: {step.verbs.join(" → ")}
        </span>
      ))}
      {steps.length > shown.length ? <span class="hint"> and {steps.length - shown.length} more</span> : null}
    </span>
  );
}

function excerpt(text: string | null): string {
  if (text === null) return "—";
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 90 ? `${line.slice(0, 89)}…` : line;
}

/** The form that starts a run of a chosen agent and opens its view, where its timeline fills in. */
function StartRun(props: { agents: readonly Answer<"listAgents">["agents"][number][] }) {
  const [agent, setAgent] = useState("");
  const [input, setInput] = useState("");
  const [failure, setFailure] = useState<ApiError | null>(null);
  const [starting, setStarting] = useState(false);
  const chosen = agent || props.agents[0]?.name || "";
  return (
    <section class="card start-run" aria-labelledby="start-run-title">
      <h2 id="start-run-title">Start a run</h2>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          if (chosen === "" || input.trim() === "") {
            setFailure(
              new ApiError(
                400,
                "invalid_request",
                chosen === "" ? "choose an agent" : "type the run's input",
              ),
            );
            return;
          }
          setStarting(true);
          setFailure(null);
          try {
            const run = await api<"createRun">(`/v1/agents/${encodeURIComponent(chosen)}/runs`, {
              method: "POST",
              body: { input },
            });
            navigate(href("runs", run.id));
          } catch (error) {
            setFailure(error instanceof ApiError ? error : new ApiError(0, "internal", String(error)));
            setStarting(false);
          }
        }}
      >
        <div class="start-run-fields">
          <div class="field">
            <label for="start-agent">Agent</label>
            <select id="start-agent" value={chosen} onChange={(event) => setAgent(event.currentTarget.value)}>
              {props.agents.map((item) => (
                <option key={item.name} value={item.name}>
                  {item.name}@{item.version}
                  {item.model.offline ? " (offline stand-in)" : ""}
                </option>
              ))}
            </select>
          </div>
          <div class="field start-run-input">
            <label for="start-input">Input</label>
            <textarea
              id="start-input"
              rows={2}
              value={input}
              onInput={(event) => setInput(event.currentTarget.value)}
            />
          </div>
          <div class="field filter-actions">
            <button type="submit" disabled={starting}>
              {starting ? "Starting…" : "Start run"}
            </button>
          </div>
        </div>
      </form>
      <ErrorNote error={failure} />
    </section>
  );
}
