/**
 * Keel's governed endpoint in its own process for the gateway benchmarks: PGlite store on disk, as `keel serve`
 * opens it (cost records batched into it), one API key, the OpenAI adapter pointed at the loopback provider. Prints its base URL.
 * argv: <provider base URL> [--budget] (a daily key budget, so every call reserves and settles).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay, type PerformanceEntry, PerformanceObserver } from "node:perf_hooks";
import { serve } from "@hono/node-server";
import { createSqlBudgetLedger } from "../src/governance/budget-ledger-sql.ts";
import { createEnvModelGateway } from "../src/server/bind-agent-package.ts";
import { createChatCompletionsRoute } from "../src/server/chat-completions.ts";
import { openStore } from "../src/store/open-store.ts";

const [providerUrl, ...flags] = process.argv.slice(2);
const flag = flags.includes("--budget") ? "--budget" : undefined;
// PostgreSQL when KEEL_BENCH_DATABASE_URL is set (the scale-out setup), else embedded PGlite in a data directory,
// as `keel serve` runs it (an in-memory PGlite grows its files by copying them, which no user's server does).
const dataDir = process.env.KEEL_BENCH_DATABASE_URL
  ? undefined
  : mkdtempSync(join(tmpdir(), "keel-gateway-bench-"));
const store = await openStore({ databaseUrl: process.env.KEEL_BENCH_DATABASE_URL, dataDir });
const gateway = createEnvModelGateway({ env: { OPENAI_API_KEY: "sk-bench", OPENAI_BASE_URL: providerUrl } });
const route = createChatCompletionsRoute({
  gateway,
  ...(flags.includes("--no-ledger") ? {} : { ledger: createSqlBudgetLedger(store.sql) }),
  keys: [
    {
      id: "bench",
      secret: "keel-bench-key",
      tenant: "bench",
      ...(flag === "--budget" ? { budgets: { perDay: { usd: 1_000_000 } } } : {}),
    },
  ],
  log: (message) => process.stderr.write(`${message}\n`),
});
const server = serve({ fetch: route.app.fetch, hostname: "127.0.0.1", port: 0 }, (info) => {
  process.stdout.write(`http://127.0.0.1:${info.port}/v1\n`);
});
// KEEL_BENCH_DIAGNOSE=1: report where a slow request's time may go, the event loop's delays and GC pauses.
const loopDelay = process.env.KEEL_BENCH_DIAGNOSE ? monitorEventLoopDelay({ resolution: 1 }) : null;
const gcPauses: { kind: number; ms: number }[] = [];
if (loopDelay) {
  loopDelay.enable();
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcPauses.push({
        kind: (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0,
        ms: entry.duration,
      });
    }
  }).observe({ entryTypes: ["gc"] });
}
process.on("SIGTERM", () => {
  if (loopDelay) {
    const ms = (nanoseconds: number) => (nanoseconds / 1e6).toFixed(2);
    const pauses = gcPauses.map((pause) => pause.ms).sort((a, b) => a - b);
    const total = pauses.reduce((sum, pause) => sum + pause, 0);
    process.stderr.write(
      `keel event-loop delay ms: p50 ${ms(loopDelay.percentile(50))} p99 ${ms(loopDelay.percentile(99))} p99.9 ${ms(loopDelay.percentile(99.9))} max ${ms(loopDelay.max)}\n` +
        `keel GC: ${pauses.length} pauses, ${total.toFixed(0)} ms in all, p99 ${(pauses[Math.floor(pauses.length * 0.99)] ?? 0).toFixed(2)} ms, max ${(pauses.at(-1) ?? 0).toFixed(2)} ms; by kind ${JSON.stringify(
          Object.groupBy(gcPauses, (pause) => String(pause.kind)),
          (_key, value) => (Array.isArray(value) ? value.length : value),
        )}\n`,
    );
  }
  server.close();
  void route
    .close()
    .then(() => store.close())
    .then(() => {
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    });
});
