/**
 * `node bench/gateway-latency.ts [--seconds 60] [--rate 500] [--budget] [--json out.json]`: the latency Keel's
 * governed endpoint adds over calling the same loopback provider directly. Requests to the two paths are
 * interleaved, each at `--rate` per second (open loop: sent on schedule whether or not earlier ones answered),
 * and timed by the client. Keel, the provider and this client are separate processes.
 */
import { writeFile } from "node:fs/promises";
import { availableParallelism, cpus } from "node:os";
import { parseArgs } from "node:util";
import { startTemporaryPostgres } from "../test/support/temporary-postgres.ts";
import { chatBody, createBenchClient } from "./gateway-http-client.ts";
import { rssMiB, startChild } from "./gateway-processes.ts";
import { loadAverage } from "./machine-cpu.ts";
import { summarizeLatencies } from "./summarize-latencies.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "60" },
    rate: { type: "string", default: "500" },
    warmup: { type: "string", default: "5" },
    budget: { type: "boolean", default: false },
    store: { type: "string", default: "pglite" },
    "no-ledger": { type: "boolean", default: false },
    json: { type: "string" },
  },
});
const seconds = Number(values.seconds);
const rate = Number(values.rate);
const warmup = Number(values.warmup);

// The cost records (and budget holds) go to embedded PGlite, or to a throwaway PostgreSQL server with its durable
// defaults (fsync, synchronous_commit), so a budget statement waits for its WAL flush as in production.
const postgres = values.store === "postgres" ? await startTemporaryPostgres({ durable: true }) : null;
if (postgres) process.env.KEEL_BENCH_DATABASE_URL = postgres.url;
const provider = await startChild("./gateway-provider-child.ts");
const keel = await startChild("./gateway-keel-child.ts", [
  provider.url,
  ...(values.budget ? ["--budget"] : []),
  ...(values["no-ledger"] ? ["--no-ledger"] : []),
]);
const direct = createBenchClient(provider.url, { key: "sk-bench" });
const governed = createBenchClient(keel.url, { key: "keel-bench-key" });
const directBody = chatBody("gpt-4o-mini-2024-07-18");
const governedBody = chatBody("openai/gpt-4o-mini-2024-07-18");

const samples = { direct: [] as number[], gateway: [] as number[] };
const errors = { direct: 0, gateway: 0 };
/** Failed requests by path and HTTP status (0: no response, with the error's code), to tell a timeout from a refusal. */
const failures = new Map<string, number>();
const rss: number[] = [];
const pending = new Set<Promise<void>>();
const total = (warmup + seconds) * rate;
const started = performance.now();
let sent = 0;

console.log(`load average at start: ${loadAverage()}`);
console.log(
  `gateway latency: ${seconds} s at ${rate} req/s per path (+${warmup} s warm-up)${values.budget ? ", with a daily key budget" : ""}`,
);
const rssTimer = setInterval(() => {
  void rssMiB(keel.process.pid!).then((value) => rss.push(value));
}, 1_000);
await new Promise<void>((resolve) => {
  const tick = () => {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1_000) * rate));
    while (sent < due) {
      const measured = sent >= warmup * rate;
      sent += 1;
      for (const path of ["direct", "gateway"] as const) {
        const client = path === "direct" ? direct : governed;
        const promise = client
          .post(path === "direct" ? directBody : governedBody)
          .then(({ status, ms, error }) => {
            if (!measured) return;
            if (status !== 200) {
              errors[path] += 1;
              const key = `${path} ${status}${error ? ` ${error}` : ""}`;
              failures.set(key, (failures.get(key) ?? 0) + 1);
            } else samples[path].push(ms);
          });
        pending.add(promise);
        void promise.finally(() => pending.delete(promise));
      }
    }
    if (sent >= total) resolve();
    else setTimeout(tick, 1);
  };
  tick();
});
await Promise.all(pending);
clearInterval(rssTimer);
const elapsed = (performance.now() - started) / 1_000;

const directSummary = summarizeLatencies(samples.direct);
const gatewaySummary = summarizeLatencies(samples.gateway);
const added = {
  p50: gatewaySummary.p50 - directSummary.p50,
  p95: gatewaySummary.p95 - directSummary.p95,
  p99: gatewaySummary.p99 - directSummary.p99,
};
const format = (value: number) => value.toFixed(3).padStart(8);
console.log(
  `${availableParallelism()} CPUs (${cpus()[0]?.model ?? "unknown"}), Node ${process.version}; ran ${elapsed.toFixed(0)} s`,
);
console.log("path        requests   errors      p50 ms   p95 ms   p99 ms");
for (const [name, summary] of [
  ["direct", directSummary],
  ["gateway", gatewaySummary],
] as const) {
  console.log(
    `${name.padEnd(10)} ${String(summary.count).padStart(9)} ${String(errors[name]).padStart(8)}   ${format(summary.p50)} ${format(summary.p95)} ${format(summary.p99)}`,
  );
}
console.log(
  `added by Keel            ${" ".repeat(8)}   ${format(added.p50)} ${format(added.p95)} ${format(added.p99)}`,
);
console.log(`load average at end: ${loadAverage()}`);
console.log(
  `targets: added p50 ≤ 1 ms: ${added.p50 <= 1 ? "met" : "missed"}; added p99 ≤ 5 ms: ${added.p99 <= 5 ? "met" : "missed"}`,
);
if (failures.size > 0)
  console.log(`failed requests by path and status: ${JSON.stringify(Object.fromEntries(failures))}`);
console.log(`Keel RSS during the run: ${Math.min(...rss).toFixed(0)}–${Math.max(...rss).toFixed(0)} MiB`);
if (values.json) {
  await writeFile(
    values.json,
    JSON.stringify(
      {
        seconds,
        rate,
        budget: values.budget,
        direct: directSummary,
        gateway: gatewaySummary,
        added,
        errors,
        rssMiB: rss,
      },
      null,
      2,
    ),
  );
}
direct.close();
governed.close();
await keel.stop();
await provider.stop();
await postgres?.stop();
