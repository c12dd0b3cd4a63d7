/**
 * `node bench/auth-overhead.ts [--requests 4000] [--rounds 5]`: what control-plane authentication adds to a request.
 * One PGlite store, one run; `GET /v1/runs/{id}` answered in process (`app.request`, no sockets) by three apps built
 * in the same run: a bare Hono route doing the same read (baseline), Keel's app in development mode (the gate without
 * a key: headers, route table, query and ownership checks) and Keel's app with an API key (the same plus bearer
 * parsing, cached key verification and the per-key bucket). Rounds alternate the three so machine load hits all
 * alike. Also timed: a verification that misses the cache (a key read and a last-used write).
 */
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { Hono } from "hono";
import { createApiKeyVerifier } from "../src/governance/api-key-verifier.ts";
import { createSqlApiKeyStore } from "../src/governance/sql-api-key-store.ts";
import { createAgentCatalog } from "../src/runtime/agent-catalog.ts";
import { createApp } from "../src/server/create-app.ts";
import { createKeyRateLimiter } from "../src/server/key-rate-limiter.ts";
import { presentRun } from "../src/server/present-run.ts";
import { openStore } from "../src/store/open-store.ts";
import { cpuShare, snapshotCpu } from "./machine-cpu.ts";

const { values } = parseArgs({
  options: { requests: { type: "string", default: "4000" }, rounds: { type: "string", default: "5" } },
});
const requests = Number(values.requests);
const rounds = Number(values.rounds);

const store = await openStore({});
const { run } = await store.createRun({
  runId: "run_bench_auth",
  start: {
    agent: "bench",
    agentVersion: "1.0.0",
    specHash: "0".repeat(64),
    input: "hello",
    principal: { subject: "bench", tenant: "default", roles: [] },
    startedAt: new Date().toISOString(),
    deadlineAt: new Date(Date.now() + 60_000).toISOString(),
    maxSteps: 1,
  },
});
const keys = createSqlApiKeyStore(store.sql);
const { token } = await keys.create({ tenant: "default", roles: ["viewer"], createdBy: "bench" });

const bare = new Hono();
bare.get("/v1/runs/:id", async (context) => {
  const found = await store.getRun(context.req.param("id"));
  return found ? context.json(presentRun(found)) : context.json({ error: "not found" }, 404);
});
const agents = createAgentCatalog([]);
const devMode = createApp({ store, agents, log: () => undefined });
const withKeys = createApp({
  store,
  agents,
  log: () => undefined,
  auth: {
    verifier: createApiKeyVerifier({ store: keys }),
    platformTenant: "default",
    rateLimiter: createKeyRateLimiter({ perMinute: 1e9, burst: 1e9 }),
  },
});
const path = `/v1/runs/${run.runId}`;
const variants = {
  "bare route (baseline)": () => bare.request(path),
  "Keel, development mode (gate, no key)": () => devMode.request(path),
  "Keel with an API key": () => withKeys.request(path, { headers: { authorization: `Bearer ${token}` } }),
};
const samples = new Map<string, number[]>(Object.keys(variants).map((name) => [name, []]));

const time = async (send: () => Response | Promise<Response>) => {
  const started = performance.now();
  const response = await send();
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`status ${response.status}`);
  return performance.now() - started;
};
for (const send of Object.values(variants)) for (let i = 0; i < 500; i++) await time(send);

const before = snapshotCpu(null);
for (let round = 0; round < rounds; round++) {
  for (const [name, send] of Object.entries(variants)) {
    const list = samples.get(name)!;
    for (let i = 0; i < requests; i++) list.push(await time(send));
  }
}
const share = cpuShare(before, snapshotCpu(null));

const cold = createApiKeyVerifier({ store: keys, cacheMs: 0 });
const coldTimes: number[] = [];
for (let i = 0; i < 500; i++) {
  const started = performance.now();
  if (!(await cold.verify(token))) throw new Error("the key did not verify");
  coldTimes.push(performance.now() - started);
}

const quantile = (list: number[], q: number) => {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};
const mean = (list: number[]) => list.reduce((sum, value) => sum + value, 0) / list.length;
const baseline = samples.get("bare route (baseline)")!;
console.log(`node bench/auth-overhead.ts --requests ${requests} --rounds ${rounds}`);
console.log(
  `load average at end: ${loadavg()
    .map((value) => value.toFixed(2))
    .join(" ")}`,
);
console.log(
  `CPU while measuring: machine ${share.machinePercent?.toFixed(0) ?? "?"}%, this process ${share.processPercent.toFixed(0)}%, other work ${share.otherPercent?.toFixed(0) ?? "?"}%`,
);
console.log("| request | p50 (µs) | p95 (µs) | p99 (µs) | mean (µs) | mean added vs baseline (µs) |");
console.log("|---|---|---|---|---|---|");
for (const [name, list] of samples) {
  const row = [quantile(list, 0.5), quantile(list, 0.95), quantile(list, 0.99), mean(list)].map((ms) =>
    (ms * 1_000).toFixed(0),
  );
  console.log(`| ${name} | ${row.join(" | ")} | ${((mean(list) - mean(baseline)) * 1_000).toFixed(0)} |`);
}
const dev = samples.get("Keel, development mode (gate, no key)")!;
const keyed = samples.get("Keel with an API key")!;
console.log(
  `added by the key alone (with key − development mode): p50 ${((quantile(keyed, 0.5) - quantile(dev, 0.5)) * 1_000).toFixed(0)} µs, mean ${((mean(keyed) - mean(dev)) * 1_000).toFixed(0)} µs`,
);
console.log(
  `a verification that misses the cache (read + last-used write on PGlite): p50 ${(quantile(coldTimes, 0.5) * 1_000).toFixed(0)} µs, p95 ${(quantile(coldTimes, 0.95) * 1_000).toFixed(0)} µs`,
);
await store.close();
