import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { captureIo } from "../../test/support/capture-io.ts";
import { listenOnLoopback, writeVersionedAgent } from "../../test/support/versioned-agent.ts";
import { main } from "../cli/main.ts";
import { createSqlApiKeyStore } from "../governance/index.ts";
import { openStore, type SqlStore } from "../store/index.ts";
import { createKeel, type Keel } from "./create-keel.ts";

describe("the rollout routes and keel rollout", () => {
  let store: SqlStore;
  let keel: Keel;
  let server: Awaited<ReturnType<typeof listenOnLoopback>>;
  let url: string;
  const keys: Record<string, string> = {};
  const call = async (key: string, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${keys[key]}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return {
      status: response.status,
      body: (await response.json()) as Record<string, unknown> & { error?: { message: string } },
    };
  };
  const cli = async (args: string[]) => {
    const io = captureIo({ KEEL_API_KEY: keys.deployer! });
    const code = await main([...args, "--url", url], io);
    return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
  };

  before(async () => {
    store = await openStore({});
    const apiKeys = createSqlApiKeyStore(store.sql);
    const make = async (label: string, tenant: string, roles: string[]) =>
      (await apiKeys.create({ tenant, roles, name: label, createdBy: "test" })).token;
    keys.deployer = await make("acme-deployer", "acme", ["deployer", "invoker"]);
    keys.operator = await make("acme-operator", "acme", ["operator"]);
    keys.viewer = await make("acme-viewer", "acme", ["viewer"]);
    keys.globex = await make("globex-admin", "globex", ["admin"]);
    keel = await createKeel({
      store,
      agents: [writeVersionedAgent({ tenant: "acme", rollout: "{ stickiness: run }" })],
      env: {},
      log: () => undefined,
      timers: false,
    });
    server = await listenOnLoopback(keel.fetch);
    url = server.url;
  });
  after(async () => {
    await server.close();
    await keel.close();
    await store.close();
  });

  test("refuses a version not loaded, the one serving and an unknown strategy with 400, naming the field", async () => {
    const unknown = await call("deployer", "POST", "/v1/agents/helper/rollout", { to: "9.9.9" });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error!.message, /no version 9\.9\.9 loaded \(served: 1\.1\.0, 1\.0\.0\)/);
    const same = await call("deployer", "POST", "/v1/agents/helper/rollout", { to: "1.0.0" });
    assert.equal(same.status, 400);
    const strategy = await call("deployer", "POST", "/v1/agents/helper/rollout", {
      to: "1.1.0",
      strategy: "yolo",
    });
    assert.equal(strategy.status, 400);
    assert.match(JSON.stringify(strategy.body), /strategy/);
  });

  test("another tenant's agent is absent (404), and a viewer may read but not start a rollout (403)", async () => {
    assert.equal((await call("globex", "POST", "/v1/agents/helper/rollout", { to: "1.1.0" })).status, 404);
    assert.equal((await call("globex", "GET", "/v1/agents/helper/rollout")).status, 404);
    assert.equal((await call("deployer", "GET", "/v1/agents/nobody/rollout")).status, 404);
    assert.equal((await call("viewer", "POST", "/v1/agents/helper/rollout", { to: "1.1.0" })).status, 403);
    const status = await call("viewer", "GET", "/v1/agents/helper/rollout");
    assert.equal(status.status, 200);
    assert.deepEqual(
      [status.body.serving, status.body.deployment, status.body.versions],
      ["1.0.0", null, ["1.1.0", "1.0.0"]],
    );
  });

  test("starts, pauses (every run to stable), resumes and promotes by hand; 409 where the state does not allow it; rollback undoes the promotion", async () => {
    assert.equal((await call("deployer", "POST", "/v1/agents/helper/rollout/promote")).status, 409);
    const started = await call("deployer", "POST", "/v1/agents/helper/rollout", {
      to: "1.1.0",
      strategy: "ab",
    });
    assert.equal(started.status, 201);
    assert.deepEqual([started.body.state, started.body.candidatePercent], ["running", 50]);
    assert.equal((await call("deployer", "POST", "/v1/agents/helper/rollout", { to: "1.1.0" })).status, 409);
    assert.equal(
      (await call("operator", "POST", "/v1/agents/helper/rollout/pause", { reason: "checking" })).status,
      200,
    );
    assert.equal((await call("operator", "POST", "/v1/agents/helper/rollout/pause")).status, 409);
    for (let index = 0; index < 10; index++) {
      const run = await call("deployer", "POST", "/v1/agents/helper/runs", { input: `hello ${index}` });
      assert.equal(run.body.agentVersion, "1.0.0", "a paused rollout sends every run to stable");
    }
    assert.equal((await call("operator", "POST", "/v1/agents/helper/rollout/resume")).status, 200);
    const versions = new Set<unknown>();
    for (let index = 0; index < 20; index++)
      versions.add(
        (await call("deployer", "POST", "/v1/agents/helper/runs", { input: `hi ${index}` })).body
          .agentVersion,
      );
    assert.deepEqual([...versions].sort(), ["1.0.0", "1.1.0"], "an A/B split sends runs to both");
    const running = await call("viewer", "GET", "/v1/agents/helper/rollout");
    const comparison = running.body.comparison as {
      confidence: number;
      metrics: { metric: string; verdict: string; conclusion: string }[];
    };
    assert.equal(comparison.confidence, 0.95);
    assert.deepEqual(
      comparison.metrics.map((metric) => metric.metric),
      ["successRate", "p95LatencyMs", "costPerRun", "evalScore", "guardFlagRate", "approvalRejectionRate"],
      "a running A/B test reports every metric's comparison",
    );
    assert.ok(comparison.metrics.every((metric) => metric.conclusion.length > 0));
    const promoted = await call("deployer", "POST", "/v1/agents/helper/rollout/promote");
    assert.deepEqual([promoted.body.state, promoted.body.candidatePercent], ["promoted", 100]);
    const run = await call("deployer", "POST", "/v1/agents/helper/runs", { input: "after" });
    assert.equal(run.body.agentVersion, "1.1.0");
    const rolledBack = await call("operator", "POST", "/v1/agents/helper/rollout/rollback", {
      reason: "complaints",
    });
    assert.equal(rolledBack.body.state, "rolled_back");
    const status = await call("viewer", "GET", "/v1/agents/helper/rollout");
    assert.equal(status.body.serving, "1.0.0");
    assert.equal(status.body.comparison, null, "only a running A/B test is compared");
    assert.deepEqual(
      (status.body.history as { kind: string; actor: string }[]).map((event) => [event.kind, event.actor]),
      [
        ["started", "acme-deployer"],
        ["paused", "acme-operator"],
        ["resumed", "acme-operator"],
        ["promoted", "acme-deployer"],
        ["rolled_back", "acme-operator"],
      ],
    );
  });

  test("keel rollout starts, shows and aborts a rollout; bad input exits 2 with the usage", async () => {
    const missing = await cli(["rollout", "start", "helper"]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /needs --to <version>[\s\S]*usage:[\s\S]*rollout start <agent>/);
    const strategy = await cli(["rollout", "start", "helper", "--to", "1.1.0", "--strategy", "yolo"]);
    assert.equal(strategy.code, 2);
    assert.match(strategy.err, /--strategy must be one of shadow, canary, ab, direct/);
    assert.equal((await cli(["rollout", "frobnicate", "helper"])).code, 2);
    const started = await cli(["rollout", "start", "helper", "--to", "1.1.0", "--strategy", "canary"]);
    assert.equal(started.code, 0, started.err);
    assert.match(started.out, /helper 1\.0\.0 → 1\.1\.0: canary, running, candidate at 5% \(stage 1 of 4/);
    const status = await cli(["rollout", "status", "helper"]);
    assert.equal(status.code, 0, status.err);
    assert.match(status.out, /serving 1\.0\.0[\s\S]*started at 5% by acme-deployer/);
    const aborted = await cli(["rollout", "abort", "helper", "--reason", "not today"]);
    assert.equal(aborted.code, 0, aborted.err);
    assert.match(aborted.out, /canary, aborted, candidate at 0%/);
    assert.equal((await cli(["rollout", "abort", "helper"])).code, 1, "nothing left to abort: a conflict");
  });
});
