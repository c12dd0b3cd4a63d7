import type { Answer } from "../api.ts";
import { Empty } from "../components.tsx";
import { formatCount, formatDuration, formatUsd } from "../format.ts";

type Span = Answer<"runTrace">["spans"][number];

const INPUT_TOKENS = "gen_ai.usage.input_tokens";
const OUTPUT_TOKENS = "gen_ai.usage.output_tokens";
const COST = "keel.cost.usd";
const PHASE = "keel.phase";

/** A span with its depth in the tree, in the order a reader follows: each parent, then its children by start. */
type Placed = { span: Span; depth: number };

function place(spans: readonly Span[]): Placed[] {
  const ids = new Set(spans.map((span) => span.spanId));
  const children = new Map<string | null, Span[]>();
  for (const span of spans) {
    const parent = span.parentSpanId !== null && ids.has(span.parentSpanId) ? span.parentSpanId : null;
    children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  const placed: Placed[] = [];
  const visit = (parent: string | null, depth: number) => {
    for (const span of [...(children.get(parent) ?? [])].sort((a, b) => a.startMs - b.startMs)) {
      placed.push({ span, depth });
      visit(span.spanId, depth + 1);
    }
  };
  visit(null, 0);
  return placed;
}

const numberOf = (value: unknown): number =>
  typeof value === "number" && Number.isFinite(value) ? value : 0;

/**
 * The run's spans as a waterfall: one row per span, its bar placed by start and length on the run's time line, with
 * the tokens and cost of its model calls; then the totals by phase (planning, execution, error recovery). An open
 * span (a run still going, an approval waited for) reaches to now.
 */
export function SpanWaterfall(props: { spans: readonly Span[]; now: number }) {
  if (props.spans.length === 0)
    return <Empty>No spans yet: the trace fills in as the run's events are projected.</Empty>;
  const placed = place(props.spans);
  const start = Math.min(...props.spans.map((span) => span.startMs));
  const end = Math.max(...props.spans.map((span) => span.endMs ?? props.now));
  const total = Math.max(1, end - start);
  const phases = new Map<string, { calls: number; input: number; output: number; cost: number }>();
  for (const span of props.spans) {
    if (!(INPUT_TOKENS in span.attributes) && !(COST in span.attributes)) continue;
    // The run's root span carries the run's totals; phases add up its model calls.
    if (span.parentSpanId === null || !props.spans.some((other) => other.spanId === span.parentSpanId))
      continue;
    const phase = String(span.attributes[PHASE] ?? "unphased");
    const sum = phases.get(phase) ?? { calls: 0, input: 0, output: 0, cost: 0 };
    sum.calls += 1;
    sum.input += numberOf(span.attributes[INPUT_TOKENS]);
    sum.output += numberOf(span.attributes[OUTPUT_TOKENS]);
    sum.cost += numberOf(span.attributes[COST]);
    phases.set(phase, sum);
  }
  return (
    <>
      <table class="waterfall">
        <caption class="visually-hidden">Spans of the run, placed on its time line</caption>
        <thead>
          <tr>
            <th scope="col">Span</th>
            <th scope="col" class="number">
              Starts at
            </th>
            <th scope="col" class="number">
              Duration
            </th>
            <th scope="col" class="number">
              Tokens
            </th>
            <th scope="col" class="number">
              Cost
            </th>
            <th scope="col" class="waterfall-bar-column">
              Time line ({formatDuration(total)})
            </th>
          </tr>
        </thead>
        <tbody>
          {placed.map(({ span, depth }) => {
            const length = (span.endMs ?? props.now) - span.startMs;
            const tokens =
              INPUT_TOKENS in span.attributes
                ? numberOf(span.attributes[INPUT_TOKENS]) + numberOf(span.attributes[OUTPUT_TOKENS])
                : null;
            const cost = COST in span.attributes ? numberOf(span.attributes[COST]) : null;
            return (
              <tr key={span.spanId} class={span.status.code === "error" ? "span-error" : undefined}>
                <td>
                  <span class="span-name" style={{ paddingLeft: `${depth * 14}px` }}>
                    {span.name}
                  </span>
                  {span.status.code === "error" ? <span class="badge badge-bad">error</span> : null}
                  {span.endMs === null ? <span class="badge badge-busy">open</span> : null}
                </td>
                <td class="number">+{formatDuration(span.startMs - start)}</td>
                <td class="number">{formatDuration(length)}</td>
                <td class="number">{tokens === null ? "—" : formatCount(tokens)}</td>
                <td class="number">{cost === null ? "—" : formatUsd(cost)}</td>
                <td class="waterfall-bar-column">
                  <span class="waterfall-track" aria-hidden="true">
                    <span
                      class={`waterfall-bar${span.endMs === null ? " open" : ""}`}
                      style={{
                        left: `${((span.startMs - start) / total) * 100}%`,
                        width: `${Math.max(0.6, (length / total) * 100)}%`,
                      }}
                    />
                  </span>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {phases.size > 0 ? (
        <table class="phase-totals">
          <caption>Model calls by phase</caption>
          <thead>
            <tr>
              <th scope="col">Phase</th>
              <th scope="col" class="number">
                Calls
              </th>
              <th scope="col" class="number">
                Tokens in
              </th>
              <th scope="col" class="number">
                Tokens out
              </th>
              <th scope="col" class="number">
                Cost
              </th>
            </tr>
          </thead>
          <tbody>
            {[...phases].map(([phase, sum]) => (
              <tr key={phase}>
                <td>{phase.replace(/_/g, " ")}</td>
                <td class="number">{formatCount(sum.calls)}</td>
                <td class="number">{formatCount(sum.input)}</td>
                <td class="number">{formatCount(sum.output)}</td>
                <td class="number">{formatUsd(sum.cost)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}
