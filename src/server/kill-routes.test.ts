import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type ServerType, serve } from "@hono/node-server";
import { z } from "zod";
import { captureIo } from "../../test/support/capture-io.ts";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import { testGovernor } from "../../test/support/test-governor.ts";
import { main } from "../cli/main.ts";
import type { KeelGovernor } from "../governance/create-governor.ts";
import { createAgentCatalog } from "../runtime/agent-catalog.ts";
import { startRun } from "../runtime/start-run.ts";
import { createWorker, type Worker } from "../runtime/worker.ts";
import type { KeelStore } from "../store/keel-store.ts";
import { openStore } from "../store/open-store.ts";
import { defineTool } from "../tools/tool.ts";
import { createApp } from "./create-app.ts";

let started!: () => void;
const toolStarted = new Promise<void>((resolve) => {
  started = resolve;
});
const slow = defineTool({
  name: "slow",
  description: "Waits for its signal.",
  input: z.object({}),
  async execute(_input, { signal }) {
    started();
    await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    throw signal.reason;
  },
});
const agent = scriptedAgent({
  name: "slowpoke",
  turns: [
    { kind: "tool-calls", calls: [{ callId: "c1", tool: "slow", arguments: {} }] },
    { kind: "answer", text: "x" },
  ],
  tools: [slow],
});

describe("kill switches over HTTP and the keel command", () => {
  let store: KeelStore;
  let governor: KeelGovernor;
  let worker: Worker;
  let server: ServerType;
  let url: string;
  let app: ReturnType<typeof createApp>;

  before(async () => {
    store = await openStore({});
    governor = await testGovernor([agent]);
    const agents = createAgentCatalog([agent]);
    worker = createWorker({ store, agents: agents.lookup, governor, owner: "kill-test", leaseTtlMs: 2_000 });
    app = createApp({ store, agents, worker, governor, log: () => undefined });
    worker.start();
    server = await new Promise<ServerType>((resolve) => {
      const created = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(created));
    });
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await worker.stop();
    await store.close();
  });

  test("keel kill aborts the agent's tool in flight, ends its run as killed, and keel resume lifts it", async () => {
    const { run } = await startRun({
      store,
      agent,
      input: "go",
      principal: { subject: "u", tenant: "t", roles: [] },
    });
    worker.poke();
    await toolStarted;
    const io = captureIo();
    assert.equal(
      await main(["kill", "slowpoke", "--reason", "runaway loop", "--url", url], io),
      0,
      io.stderr.join("\n"),
    );
    assert.match(io.stdout.join("\n"), /^killed agent slowpoke at .* \(by local-developer\)/);
    for (let i = 0; i < 100 && (await store.getRun(run.runId))?.status !== "cancelled"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const ended = await store.getRun(run.runId);
    assert.equal(ended?.status, "cancelled");
    assert.equal(ended?.error?.code, "killed");
    assert.match(ended?.error?.message ?? "", /runaway loop/);

    const list = captureIo();
    await main(["kill-switches", "--url", url], list);
    assert.match(list.stdout.join("\n"), /^agent slowpoke {2}since .* by local-developer: runaway loop$/);

    const resumed = captureIo();
    assert.equal(await main(["resume", "slowpoke", "--url", url], resumed), 0);
    assert.deepEqual(resumed.stdout, ["resumed agent slowpoke"]);
    assert.deepEqual(governor.killSwitch.list(), []);
    const again = captureIo();
    assert.equal(await main(["resume", "slowpoke", "--url", url], again), 1);
    assert.match(again.stderr.join("\n"), /no kill switch is thrown for agent slowpoke/);
  });

  test("kills a tenant and everything, and refuses an unknown agent or a missing target", async () => {
    const tenant = await app.request("/v1/tenants/acme/kill", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ reason: "incident 42" }),
    });
    assert.equal(tenant.status, 200);
    assert.equal(((await tenant.json()) as { killed: { scope: string } }).killed.scope, "tenant");
    assert.equal((await app.request("/v1/kill", { method: "POST" })).status, 200);
    assert.deepEqual(
      governor.killSwitch
        .list()
        .map((kill) => `${kill.scope}:${kill.target}`)
        .sort(),
      ["all:*", "tenant:acme"],
    );
    assert.equal((await app.request("/v1/resume", { method: "POST" })).status, 200);
    assert.equal((await app.request("/v1/tenants/acme/resume", { method: "POST" })).status, 200);
    assert.equal((await app.request("/v1/agents/nobody/kill", { method: "POST" })).status, 404);
    const io = captureIo();
    assert.equal(await main(["kill", "--url", url], io), 2);
    assert.match(io.stderr.join("\n"), /needs exactly one of: <agent>, --tenant T, --all/);
  });

  test("refuses kill switches to a principal without the admin or operator role", async () => {
    const agents = createAgentCatalog([agent]);
    const viewer = createApp({
      store,
      agents,
      governor,
      principal: { subject: "viewer", tenant: "t", roles: ["viewer"] },
      log: () => undefined,
    });
    assert.equal((await viewer.request("/v1/agents/slowpoke/kill", { method: "POST" })).status, 403);
  });

  test("lists the agent's policies with their effect, mode and source", async () => {
    const response = await app.request("/v1/agents/slowpoke/policies");
    const body = (await response.json()) as { policies: { id: string; effect: string; source: string }[] };
    assert.deepEqual(
      body.policies.find((policy) => policy.id === "governance.allowedTools[0]"),
      {
        id: "governance.allowedTools[0]",
        effect: "permit",
        mode: "enforce",
        source: "governance.allowedTools[0]",
        reason: "slow is an allowed tool",
      },
    );
    const report = (await (await app.request("/v1/agents/slowpoke/policies/shadow-report")).json()) as {
      decisions: number;
      changed: number;
    };
    assert.equal(report.changed, 0);
    assert.ok(report.decisions > 0);
  });
});
