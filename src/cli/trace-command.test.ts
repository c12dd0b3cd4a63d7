import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { type ServerType, serve } from "@hono/node-server";
import { Registry } from "prom-client";
import { captureIo } from "../../test/support/capture-io.ts";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import { appendSyntheticRun } from "../../test/support/synthetic-journal.ts";
import { createAgentCatalog } from "../runtime/agent-catalog.ts";
import { createApp } from "../server/create-app.ts";
import { startTracePipeline, type TracePipeline } from "../server/trace-pipeline.ts";
import type { KeelStore } from "../store/keel-store.ts";
import { openStore } from "../store/open-store.ts";
import { main } from "./main.ts";

let store: KeelStore;
let pipeline: TracePipeline;
let server: ServerType;
let url: string;
let runId: string;

async function keel(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  const code = await main([...argv, "--url", url], io);
  return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
}

before(async () => {
  store = await openStore({});
  pipeline = startTracePipeline({ store, env: {}, registry: new Registry(), pollIntervalMs: 60_000 });
  const app = createApp({
    store,
    agents: createAgentCatalog([scriptedAgent({ turns: [], name: "support-triage" })]),
    telemetry: pipeline,
    log: () => {},
  });
  runId = await appendSyntheticRun(store, {
    agent: "support-triage",
    turns: [[{ tool: "issue_refund", outcome: "denied" }], [{ tool: "issue_refund", outcome: "failed" }]],
    costPerCall: 0.25,
  });
  await appendSyntheticRun(store, { agent: "support-triage", turns: [[{ tool: "lookup", outcome: "ok" }]] });
  await pipeline.projector.catchUp();
  server = await new Promise<ServerType>((resolve) => {
    const created = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(created));
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await pipeline.close();
  await store.close();
});

describe("keel traces and keel costs", () => {
  test("traces show prints the span tree with tokens, cost and policy decisions", async () => {
    const { code, out } = await keel("traces", "show", runId);
    assert.equal(code, 0);
    assert.match(out, /^trace [0-9a-f]{32} {2}run /);
    assert.match(out, /\n {2}invoke_agent support-triage .* completed/);
    assert.match(out, /\n {4}plan /);
    assert.match(
      out,
      /\n {6}chat claude-sonnet-4-5-20250929 .*tokens in 1200 \(cached 600\) out 80 {2}\$0\.2500/,
    );
    assert.match(out, /\n {6}policy_decision issue_refund .*deny \(forbidden\)/);
    const traceId = /^trace ([0-9a-f]{32})/.exec(out)?.[1];
    const byTrace = await keel("traces", "show", traceId!, "--json");
    assert.equal((JSON.parse(byTrace.out) as { runId: string }[])[0]?.runId, runId);
  });

  test("traces search filters by decision path and prints one line per run", async () => {
    const { code, out } = await keel(
      "traces",
      "search",
      "--agent",
      "support-triage",
      "--path",
      "issue_refund:denied>issue_refund:failed",
      "--since",
      "24h",
    );
    assert.equal(code, 0);
    assert.equal(out.split("\n").length, 1);
    assert.match(
      out,
      new RegExp(
        `^${runId} .* issue_refund:denied > issue_refund:retried > issue_refund:allowed > issue_refund:failed`,
      ),
    );
    assert.equal((await keel("traces", "search", "--path", "lookup:failed")).out, "no runs match");
    const bad = await keel("traces", "search", "--wat");
    assert.equal(bad.code, 2);
    assert.match(bad.err, /usage:/);
  });

  test("costs prints rollups, the top runs, percentiles and rates", async () => {
    const rollup = await keel("costs", "--by", "agent,phase");
    assert.equal(rollup.code, 0);
    assert.match(rollup.out, /support-triage {2}planning {2}\$0\.2625 {2}2 calls/);
    assert.match((await keel("costs", "top", "--limit", "1")).out, new RegExp(`^${runId} .* \\$0\\.7500`));
    assert.match((await keel("costs", "percentiles")).out, /support-triage@1\.0\.0 {2}2 runs {2}latency p50/);
    assert.match(
      (await keel("costs", "rates")).out,
      /support-triage {2}2 runs {2}cost per resolved \$0\.3875 .* tool failures 50\.0%/,
    );
  });
});
