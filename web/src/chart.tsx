/**
 * A time-series chart drawn by uPlot (a canvas: small, and fast with thousands of points), made accessible: a heading,
 * an image role whose label summarises the chart, and a visually hidden table with the same numbers, which screen
 * readers read and axe checks. It fills its container's width and follows it when the container resizes.
 */
import { useEffect, useId, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

/** One line or set of bars: its name (in the legend and the table), values per time, colour, and how it is drawn. */
export type ChartSeries = {
  label: string;
  values: readonly (number | null)[];
  colour: string;
  kind: "bars" | "line";
};

export function Chart(props: {
  title: string;
  /** What the chart shows in one sentence, for those who cannot see it. */
  summary: string;
  /** The instants of the points, in milliseconds. */
  times: readonly number[];
  series: readonly ChartSeries[];
  /** How a time is written in the table and under the axis. */
  formatTime: (ms: number) => string;
  formatValue?: (value: number) => string;
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const headingId = useId();
  const height = props.height ?? 220;
  const formatValue = props.formatValue ?? ((value: number) => value.toLocaleString());

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const bars = uPlot.paths.bars?.({ size: [0.8, 40] });
    const xs = props.times.map((ms) => ms / 1000);
    // Half a step either side of the first and last points, so their bars are drawn whole.
    const half = xs.length > 1 ? (xs[1]! - xs[0]!) / 2 : 30;
    const xRange: uPlot.Range.MinMax = [(xs[0] ?? 0) - half, (xs[xs.length - 1] ?? 0) + half];
    const plot = new uPlot(
      {
        width: Math.max(element.clientWidth, 200),
        height,
        legend: { show: false },
        cursor: { show: false },
        scales: {
          x: { time: true, range: () => xRange },
          y: { range: (_plot, _min, max) => [0, Math.max(1, max)] },
        },
        axes: [
          { stroke: "#4a5262", grid: { stroke: "#eceff3" } },
          {
            stroke: "#4a5262",
            grid: { stroke: "#eceff3" },
            // Wide enough for "1 min 05 s" and "12,000".
            size: 72,
            values: (_plot, ticks) => ticks.map(formatValue),
          },
        ],
        series: [
          {},
          ...props.series.map((series) => ({
            label: series.label,
            stroke: series.colour,
            width: series.kind === "line" ? 2 : 0,
            ...(series.kind === "bars" ? { fill: series.colour, ...(bars ? { paths: bars } : {}) } : {}),
            // A line's points are drawn, so a bucket alone between empty ones still shows.
            points: { show: series.kind === "line", size: 6, fill: series.colour },
          })),
        ],
      },
      [xs, ...props.series.map((series) => [...series.values])],
      element,
    );
    const resize = new ResizeObserver(() =>
      plot.setSize({ width: Math.max(element.clientWidth, 200), height }),
    );
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [props.times, props.series, height]);

  return (
    <figure class="chart" aria-labelledby={headingId}>
      <h2 id={headingId}>{props.title}</h2>
      <ul class="chart-legend" aria-hidden="true">
        {props.series.map((series) => (
          <li key={series.label}>
            <span class="chart-swatch" style={{ background: series.colour }} />
            {series.label}
          </li>
        ))}
      </ul>
      <div class="chart-plot" role="img" aria-label={props.summary} ref={box} />
      <table class="visually-hidden">
        <caption>{props.title}</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            {props.series.map((series) => (
              <th scope="col" key={series.label}>
                {series.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.times.map((ms, index) => (
            <tr key={ms}>
              <th scope="row">{props.formatTime(ms)}</th>
              {props.series.map((series) => {
                const value = series.values[index];
                return (
                  <td key={series.label}>
                    {value === null || value === undefined ? "—" : formatValue(value)}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
