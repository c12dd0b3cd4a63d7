/**
 * `npm run bench:console` (`node bench/console-first-view.ts [--runs 10000] [--views 8]`): how long the console's
 * first view (the overview) takes to show its numbers on the embedded store (PGlite on disk) holding `--runs` runs.
 *
 * The runs are the telemetry benchmark's dataset (four agents, 1–3 turns, some denied, failed, held and retried),
 * journaled through the store, then folded into the telemetry projections by `keel serve`'s projector. The server
 * runs in this process; Debian's Chromium opens `/` and the time is taken from navigation start until the overview's
 * key figures are on the page (the region it renders once its API calls have answered), observed in the page itself.
 * The first view is cold (a new browser profile, the server's first overview query); the rest are warm (the bundle
 * cached, a new page each time). The baseline, in the same run, is the overview's own API calls made with `fetch`
 * from Node: `GET /v1/me`, then the four it makes at once.
 */
import { parseArgs } from "node:util";
import type { SqlStore } from "../src/store/sql-store.ts";
import { launchBrowser } from "../test/support/browser.ts";
import { startDefaultServer } from "../test/support/tenant-agents.ts";
import { pgliteTarget } from "./bench-targets.ts";
import { formatTable, times } from "./format-table.ts";
import { summarizeLatencies } from "./summarize-latencies.ts";
import { datasetRun, journalDatasetRun } from "./telemetry-dataset.ts";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "10000" }, views: { type: "string", default: "8" } },
});
const RUNS = Number(values.runs);
const VIEWS = Number(values.views);

const target = pgliteTarget();
const { store, dispose } = await target.openStore();
const journaling = performance.now();
await journalRuns(store, RUNS);
const journaledS = (performance.now() - journaling) / 1000;
console.log(`journaled ${RUNS.toLocaleString("en-US")} runs in ${journaledS.toFixed(1)} s`);

const { server } = await startDefaultServer({ store });
const projecting = performance.now();
await waitForProjection(server.url, RUNS);
const projectedS = (performance.now() - projecting) / 1000;
console.log(`projected in ${projectedS.toFixed(1)} s`);

const browser = await launchBrowser();
const viewMs: number[] = [];
/** Where a view's time went: page and bundle loaded, API calls in the page, rendering after the last answer. */
const phaseMs = { script: [] as number[], api: [] as number[], render: [] as number[] };
/** Each API call's own times, by path, for the breakdown under the table. */
const callMs = new Map<string, number[]>();
const apiMs: number[] = [];
try {
  const context = await browser.newContext({ viewport: { width: 1360, height: 860 }, locale: "en-US" });
  // Installed through the debugging protocol (not subject to the page's content security policy): note when the
  // overview's key figures appear, in the page's own clock, whose zero is navigation start.
  await context.addInitScript({
    content: `new MutationObserver((records, observer) => {
      if (!document.querySelector('[aria-label^="Key figures"]')) return;
      globalThis.firstViewMs = performance.now();
      observer.disconnect();
    }).observe(document, { childList: true, subtree: true });`,
  });
  for (let view = 0; view < VIEWS; view += 1) {
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    const handle = await page.waitForFunction(
      () => (globalThis as unknown as { firstViewMs?: number }).firstViewMs,
      undefined,
      { timeout: 60_000 },
    );
    viewMs.push((await handle.jsonValue()) as number);
    const phases = (await page.evaluate(`(() => {
      const api = performance.getEntriesByType("resource").filter((entry) => new URL(entry.name).pathname.startsWith("/v1/"));
      const me = api.find((entry) => new URL(entry.name).pathname === "/v1/me");
      return { scriptStartsApi: me ? me.startTime : 0, apiDone: Math.max(...api.map((entry) => entry.responseEnd)) };
    })()`)) as { scriptStartsApi: number; apiDone: number };
    phaseMs.script.push(phases.scriptStartsApi);
    phaseMs.api.push(phases.apiDone - phases.scriptStartsApi);
    phaseMs.render.push(viewMs[viewMs.length - 1]! - phases.apiDone);
    await page.close();
    apiMs.push(await overviewCalls(server.url));
  }
} finally {
  await browser.close();
  await server.close();
  await dispose();
}

const row = (label: string, samples: number[]) => {
  const warm = summarizeLatencies(samples.slice(1));
  return [label, samples[0]!.toFixed(0), warm.p50.toFixed(0), Math.max(...samples).toFixed(0)];
};
const warmView = summarizeLatencies(viewMs.slice(1)).p50;
const warmApi = summarizeLatencies(apiMs.slice(1)).p50;
console.log(
  `\nconsole first view, PGlite on disk, ${RUNS.toLocaleString("en-US")} runs, ${VIEWS} views (1 cold, ${VIEWS - 1} warm)\n`,
);
console.log(
  formatTable(
    ["", "cold ms", "warm p50 ms", "max ms"],
    [
      row("overview shows its numbers (Chromium, from navigation start)", viewMs),
      row("  of which: page and bundle loaded, until GET /v1/me starts", phaseMs.script),
      row("  of which: the API calls, as the page made them", phaseMs.api),
      row("  of which: rendering after the last answer", phaseMs.render),
      row("its API calls alone (fetch from Node) [baseline]", apiMs),
    ],
  ),
);
console.log(
  `\n${formatTable(
    ["API call (made at once, after /v1/me)", "cold ms", "warm p50 ms", "max ms"],
    [...callMs].map(([path, samples]) => row(path, samples)),
  )}`,
);
console.log(
  `\nwarm p50 ratio view / API calls: ${times(warmView / warmApi)}; cold ${times(viewMs[0]! / apiMs[0]!)}` +
    `\ngoal: first view under 1 s: ${Math.max(...viewMs) < 1000 ? "met" : "NOT met"} (max ${Math.max(...viewMs).toFixed(0)} ms)`,
);

/** Journal `count` dataset runs through the store: created, leased, one append each, released; 8 at a time. */
async function journalRuns(store: SqlStore, count: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next;
      next += 1;
      await journalDatasetRun(store, `run_view_${index.toString(36).padStart(5, "0")}`, datasetRun(index));
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/** Wait until the telemetry projection has folded every run (the overview reads it). */
async function waitForProjection(url: string, runs: number): Promise<void> {
  for (;;) {
    const response = await fetch(`${url}/v1/telemetry/activity?since=24h&bucket=hour`);
    const activity = (await response.json()) as { totals: { started: number } };
    if (activity.totals.started >= runs) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The overview's API calls, as the console makes them: who the caller is, then four at once. */
async function overviewCalls(url: string): Promise<number> {
  const started = performance.now();
  const get = async (path: string) => {
    const begun = performance.now();
    const response = await fetch(`${url}${path}`, { headers: { accept: "application/json" } });
    if (!response.ok) throw new Error(`${path}: ${response.status}`);
    await response.json();
    const route = path.split("?")[0]!;
    callMs.set(route, [...(callMs.get(route) ?? []), performance.now() - begun]);
  };
  await get("/v1/me");
  const today = new Date();
  today.setUTCHours(0, 0, 0, 0);
  await Promise.all([
    get("/v1/telemetry/activity?since=1h&bucket=minute"),
    get("/v1/agents"),
    get(`/v1/costs?by=agent&since=${encodeURIComponent(today.toISOString())}`),
    get("/v1/approvals?status=pending&limit=500"),
  ]);
  return performance.now() - started;
}
