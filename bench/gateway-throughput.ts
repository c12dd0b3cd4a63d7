/**
 * `node bench/gateway-throughput.ts [--seconds 30] [--connections 64] [--budget] [--json out.json]`: requests
 * per second Keel's governed endpoint sustains (closed loop, every connection sends its next request as soon
 * as the last one answers), against the same client driving the loopback provider directly, with errors and
 * Keel's resident memory sampled every second.
 */
import { writeFile } from "node:fs/promises";
import { availableParallelism, cpus } from "node:os";
import { parseArgs } from "node:util";
import { startTemporaryPostgres } from "../test/support/temporary-postgres.ts";
import { chatBody, createBenchClient } from "./gateway-http-client.ts";
import { processCpuMs, rssMiB, startChild } from "./gateway-processes.ts";
import { loadAverage, snapshotCpu } from "./machine-cpu.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "30" },
    connections: { type: "string", default: "64" },
    warmup: { type: "string", default: "5" },
    budget: { type: "boolean", default: false },
    store: { type: "string", default: "pglite" },
    json: { type: "string" },
  },
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const warmup = Number(values.warmup);

// The cost records (and budget holds) go to embedded PGlite, or to a throwaway PostgreSQL server with its durable
// defaults (fsync, synchronous_commit), so a budget statement waits for its WAL flush as in production.
const postgres = values.store === "postgres" ? await startTemporaryPostgres({ durable: true }) : null;
if (postgres) process.env.KEEL_BENCH_DATABASE_URL = postgres.url;
const provider = await startChild("./gateway-provider-child.ts");
const keel = await startChild("./gateway-keel-child.ts", [
  provider.url,
  ...(values.budget ? ["--budget"] : []),
]);

const postgresPort = postgres ? Number(new URL(postgres.url).port) : null;
/** CPU each process used, so a loaded machine's figures can still be read as CPU per request. */
async function cpuNow() {
  const machine = snapshotCpu(postgresPort);
  return {
    client: machine.processMs,
    keel: await processCpuMs(keel.process.pid!),
    provider: await processCpuMs(provider.process.pid!),
    postgres: machine.serverMs ?? 0,
    machine: machine.machineMs ?? 0,
  };
}

async function drive(baseUrl: string, key: string, body: string, pid?: number) {
  const client = createBenchClient(baseUrl, { key, maxSockets: connections });
  let ok = 0;
  let errors = 0;
  let measuring = false;
  const rss: number[] = [];
  const deadline = performance.now() + (warmup + seconds) * 1_000;
  const sampler = setInterval(() => {
    if (pid && measuring) void rssMiB(pid).then((value) => rss.push(value));
  }, 1_000);
  let cpuAtStart: Awaited<ReturnType<typeof cpuNow>> | null = null;
  const warm = setTimeout(() => {
    measuring = true;
    void cpuNow().then((cpu) => {
      cpuAtStart = cpu;
    });
  }, warmup * 1_000);
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < deadline) {
        const { status } = await client.post(body);
        if (!measuring) continue;
        if (status === 200) ok += 1;
        else errors += 1;
      }
    }),
  );
  const cpuAtEnd = await cpuNow();
  clearInterval(sampler);
  clearTimeout(warm);
  client.close();
  const start = cpuAtStart as Awaited<ReturnType<typeof cpuNow>> | null;
  const perRequest = (name: keyof typeof cpuAtEnd) =>
    start && ok > 0 ? (cpuAtEnd[name] - start[name]) / ok : Number.NaN;
  const cpuMsPerRequest = {
    client: perRequest("client"),
    keel: perRequest("keel"),
    provider: perRequest("provider"),
    postgres: perRequest("postgres"),
    machine: perRequest("machine"),
  };
  return { requestsPerSecond: ok / seconds, ok, errors, rss, cpuMsPerRequest };
}

console.log(`load average at start: ${loadAverage()}`);
console.log(
  `gateway throughput: ${seconds} s, ${connections} connections (+${warmup} s warm-up)${values.budget ? ", with a daily key budget" : ""}`,
);
const direct = await drive(provider.url, "sk-bench", chatBody("gpt-4o-mini-2024-07-18"));
const governed = await drive(
  keel.url,
  "keel-bench-key",
  chatBody("openai/gpt-4o-mini-2024-07-18"),
  keel.process.pid,
);
console.log(`${availableParallelism()} CPUs (${cpus()[0]?.model ?? "unknown"}), Node ${process.version}`);
console.log(`direct to the provider: ${direct.requestsPerSecond.toFixed(0)} req/s, ${direct.errors} errors`);
console.log(
  `through Keel:           ${governed.requestsPerSecond.toFixed(0)} req/s, ${governed.errors} errors (${((governed.requestsPerSecond / direct.requestsPerSecond) * 100).toFixed(0)}% of direct)`,
);
const third = Math.max(1, Math.floor(governed.rss.length / 3));
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
console.log(
  `Keel RSS: first third ${mean(governed.rss.slice(0, third)).toFixed(0)} MiB, last third ${mean(governed.rss.slice(-third)).toFixed(0)} MiB, max ${Math.max(...governed.rss).toFixed(0)} MiB`,
);
const cpu = governed.cpuMsPerRequest;
const benchProcesses = cpu.client + cpu.keel + cpu.provider + cpu.postgres;
console.log(
  `CPU ms per request through Keel: Keel ${cpu.keel.toFixed(3)}, PostgreSQL ${cpu.postgres.toFixed(3)}, provider ${cpu.provider.toFixed(3)}, client ${cpu.client.toFixed(3)}; other work on the machine ${Math.max(0, cpu.machine - benchProcesses).toFixed(3)}`,
);
console.log(
  `Keel's process alone could serve ${(1_000 / cpu.keel).toFixed(0)} req/s on one core; these four processes on ${availableParallelism()} cores with nothing else running: ${((availableParallelism() * 1_000) / benchProcesses).toFixed(0)} req/s`,
);
console.log(`load average at end: ${loadAverage()}`);
console.log(
  `target ≥ 2,000 req/s with 0 errors: ${governed.requestsPerSecond >= 2_000 && governed.errors === 0 ? "met" : "missed"}`,
);
if (values.json) {
  await writeFile(
    values.json,
    JSON.stringify({ seconds, connections, budget: values.budget, direct, governed }, null, 2),
  );
}
await keel.stop();
await provider.stop();
await postgres?.stop();
