import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type ServerType, serve } from "@hono/node-server";
import { Registry } from "prom-client";
import { createAgentCatalog } from "../src/runtime/agent-catalog.ts";
import { createApp } from "../src/server/create-app.ts";
import { startTracePipeline, type TracePipeline } from "../src/server/trace-pipeline.ts";
import type { KeelStore } from "../src/store/keel-store.ts";
import { openStore } from "../src/store/open-store.ts";
import { scriptedAgent } from "./support/scripted-agent.ts";
import { appendSyntheticRun } from "./support/synthetic-journal.ts";

const rulesDirectory = new URL("../prometheus/", import.meta.url).pathname;

function installed(binary: string): boolean {
  return spawnSync(binary, ["--version"], { stdio: "ignore" }).status === 0;
}

const missing = ["promtool", "prometheus"].filter((binary) => !installed(binary));
if (missing.length > 0 && process.env.CI === "true") {
  throw new Error(
    `CI=true but ${missing.join(" and ")} is not installed: .ci/run must apt-get install prometheus`,
  );
}
const skip =
  missing.length > 0 ? `${missing.join(" and ")} not installed (apt-get install prometheus)` : false;
if (skip) console.log(`skipping the Prometheus tests: ${skip}`);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("Prometheus", { skip }, () => {
  let store: KeelStore;
  let pipeline: TracePipeline;
  let server: ServerType;
  let keelUrl: string;

  before(async () => {
    store = await openStore({});
    pipeline = startTracePipeline({ store, env: {}, registry: new Registry(), pollIntervalMs: 100 });
    const agent = scriptedAgent({ turns: [], name: "support-triage" });
    const app = createApp({ store, agents: createAgentCatalog([agent]), telemetry: pipeline, log: () => {} });
    for (let index = 0; index < 5; index += 1) {
      await appendSyntheticRun(store, {
        agent: index % 2 === 0 ? "support-triage" : "billing",
        turns: [
          [{ tool: "lookup", outcome: index === 3 ? "failed" : "ok" }],
          [{ tool: "issue_refund", outcome: "review" }],
        ],
      });
    }
    server = await new Promise<ServerType>((resolve) => {
      const created = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(created));
    });
    keelUrl = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await pipeline.close();
    await store.close();
  });

  test("the shipped rules pass promtool check rules and their unit tests", () => {
    const check = spawnSync("promtool", ["check", "rules", "keel-rules.yml"], {
      cwd: rulesDirectory,
      encoding: "utf8",
    });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    const unit = spawnSync("promtool", ["test", "rules", "keel-rules.test.yml"], {
      cwd: rulesDirectory,
      encoding: "utf8",
    });
    assert.equal(unit.status, 0, unit.stdout + unit.stderr);
    assert.match(unit.stdout, /SUCCESS/);
  });

  test("promtool check metrics finds nothing to fix in a live scrape", async () => {
    const body = await (await fetch(`http://${keelUrl}/metrics`)).text();
    assert.match(body, /keel_model_cost_usd_total\{agent="support-triage"/);
    const lint = spawnSync("promtool", ["check", "metrics"], { input: body, encoding: "utf8" });
    assert.equal(lint.status, 0, lint.stdout + lint.stderr);
    assert.equal(`${lint.stdout}${lint.stderr}`.trim(), "", "zero findings");
  });

  test("a real Prometheus scraping Keel answers sum(rate(keel_model_cost_usd_total[5m])) by (agent)", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "keel-prometheus-"));
    const port = await freePort();
    const config = join(dataDir, "prometheus.yml");
    writeFileSync(
      config,
      [
        "global: { scrape_interval: 1s, evaluation_interval: 1s }",
        "scrape_configs:",
        "  - job_name: keel",
        `    static_configs: [{ targets: ["${keelUrl}"] }]`,
        "",
      ].join("\n"),
    );
    const prometheus = spawn(
      "prometheus",
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dataDir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: "ignore" },
    );
    try {
      const query = encodeURIComponent("sum(rate(keel_model_cost_usd_total[5m])) by (agent)");
      let answer: { agent: string; value: number }[] = [];
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        // Spend keeps arriving while Prometheus scrapes, so the rate is above zero.
        await appendSyntheticRun(store, {
          agent: "support-triage",
          costPerCall: 0.02,
          turns: [[{ tool: "lookup", outcome: "ok" }]],
        });
        await new Promise((resolve) => setTimeout(resolve, 500));
        const response = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${query}`).catch(
          () => null,
        );
        if (!response?.ok) continue;
        const json = (await response.json()) as {
          data: { result: { metric: { agent: string }; value: [number, string] }[] };
        };
        answer = json.data.result.map((row) => ({ agent: row.metric.agent, value: Number(row.value[1]) }));
        if (answer.some((row) => row.agent === "support-triage" && row.value > 0)) break;
      }
      const support = answer.find((row) => row.agent === "support-triage");
      assert.ok(support && support.value > 0, `Prometheus answered ${JSON.stringify(answer)}`);
      assert.ok(answer.some((row) => row.agent === "billing"));
    } finally {
      const exited = new Promise((resolve) => prometheus.once("exit", resolve));
      prometheus.kill("SIGTERM");
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
