import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { startDefaultServer } from "../../test/support/tenant-agents.ts";
import { KeelError } from "../errors/keel-error.ts";
import type { RunningServer } from "../server/start-server.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { createKeelClient, type KeelClient } from "./index.ts";

describe("the typed HTTP client", () => {
  let store: SqlStore;
  let server: RunningServer;
  let client: KeelClient;

  before(async () => {
    ({ store, server } = await startDefaultServer());
    client = createKeelClient({ baseUrl: `${server.url}/`, checkAnswers: true });
  });
  after(async () => {
    await server.close();
    await store.close();
  });

  test("starts a run and reads it back, with path parameters, bodies and queries as the routes declare them", async () => {
    const created = await client.call("createRun", {
      params: { name: "default-helper" },
      body: { input: "hello there", idempotencyKey: "client-test-1" },
    });
    assert.equal(created.created, true);
    assert.equal(created.agent, "default-helper");
    let run = await client.call("getRun", { params: { id: created.id } });
    for (let i = 0; i < 200 && (run.status === "queued" || run.status === "running"); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      run = await client.call("getRun", { params: { id: created.id } });
    }
    assert.equal(run.status, "completed");
    assert.equal(run.answer, "default says hello");
    const again = await client.call("createRun", {
      params: { name: "default-helper" },
      body: { input: "hello there", idempotencyKey: "client-test-1" },
    });
    assert.deepEqual([again.id, again.created], [created.id, false]);

    const { runs } = await client.call("listRuns", { query: { agent: "default-helper", limit: "5" } });
    assert.ok(runs.some((listed) => listed.id === created.id));
    const { events } = await client.call("runJournal", { params: { id: created.id } });
    assert.equal(events[0]?.type, "run-start");
    assert.equal(events.at(-1)?.type, "run-end");
    assert.equal(
      client.pathOf("runEvents", { params: { id: "run 1" }, query: { after: "3" } }),
      "/v1/runs/run%201/events?after=3",
    );
  });

  test("gets answers shaped as the routes declare them from every reading route", async () => {
    const created = await client.call("createRun", {
      params: { name: "default-helper" },
      body: { input: "please send a note" },
    });
    let run = await client.call("getRun", { params: { id: created.id } });
    for (let i = 0; i < 200 && run.status !== "suspended"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      run = await client.call("getRun", { params: { id: created.id } });
    }
    assert.equal(run.status, "suspended");
    assert.ok(run.explanation);
    const name = "default-helper";
    const id = created.id;
    const { approvals } = await client.call("listApprovals");
    const approval = approvals.find((entry) => entry.runId === id);
    assert.ok(approval);
    const detail = await client.call("getApproval", { params: { id: approval.id } });
    assert.equal(detail.context.principal.tenant, "default");
    await client.call("rateRun", { params: { id }, body: { rating: "up", comment: "good" } });
    const answered = await Promise.all([
      client.call("health"),
      client.call("readiness"),
      client.call("listAgents"),
      client.call("getAgent", { params: { name } }),
      client.call("listKillSwitches"),
      client.call("agentPolicies", { params: { name } }),
      client.call("shadowReport", { params: { name } }),
      client.call("approvalMetrics"),
      client.call("registry"),
      client.call("registryAgent", { params: { agent: name } }),
      client.call("registryCard", { params: { agent: name } }),
      client.call("runTrace", { params: { id } }),
      client.call("searchTraces", { query: { agent: name } }),
      client.call("costs", { query: { by: "agent,model" } }),
      client.call("topRuns"),
      client.call("percentiles"),
      client.call("rates"),
      client.call("runScores", { params: { id } }),
      client.call("runEvalCase", { params: { id } }),
      client.call("agentScores", { params: { name }, query: { type: "feedback" } }),
      client.call("openApi"),
    ]);
    assert.equal(answered.length, 21);
    const decided = await client.call("decideApproval", {
      params: { id: approval.id },
      body: {
        decision: "approve",
        ...(approval.argumentsHash ? { argumentsHash: approval.argumentsHash } : {}),
      },
      headers: { "x-keel-subject": "reviewer", "x-keel-roles": "approver:default-helper" },
    });
    assert.equal(decided.status, "approved");
    const killed = await client.call("killAgent", { params: { name }, body: { reason: "testing" } });
    assert.equal(killed.killed.scope, "agent");
    assert.deepEqual((await client.call("resumeAgent", { params: { name } })).resumed, {
      scope: "agent",
      target: name,
    });
  });

  test("reads a text answer as text", async () => {
    const metrics = await client.call("metrics");
    assert.equal(typeof metrics, "string");
    assert.match(metrics, /# TYPE /);
  });

  test("turns an error answer into a KeelError with the server's code and the fields it names", async () => {
    const bad = await client.call("listRuns", { query: { limit: "0" } }).then(
      () => null,
      (error: unknown) => error,
    );
    assert.ok(bad instanceof KeelError);
    assert.equal(bad.code, "invalid_request");
    assert.deepEqual(
      bad.issues.map((issue) => issue.path),
      ["limit"],
    );

    const missing = await client.call("getRun", { params: { id: "run_does_not_exist" } }).then(
      () => null,
      (error: unknown) => error,
    );
    assert.ok(missing instanceof KeelError);
    assert.equal(missing.code, "not_found");
  });

  test("says which server it cannot reach, without the API key", async () => {
    const offline = createKeelClient({
      baseUrl: "http://127.0.0.1:9",
      apiKey: "keel_secret_never_shown",
      unreachableHint: "is it running?",
    });
    assert.equal(offline.authenticated, true);
    const error = await offline.call("health").then(
      () => null,
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof KeelError);
    assert.equal(error.code, "unavailable");
    assert.match(
      error.message,
      /^cannot reach the Keel server at http:\/\/127\.0\.0\.1:9 .*; is it running\?$/,
    );
    assert.doesNotMatch(error.message, /keel_secret/);
  });

  test("does not compile a call the server would refuse, and the server does refuse it", async () => {
    const refused = async (call: () => Promise<unknown>) => {
      const error = await call().then(
        () => null,
        (caught: unknown) => caught,
      );
      assert.ok(error instanceof KeelError, String(error));
      return { code: error.code, paths: error.issues.map((issue) => issue.path) };
    };
    const name = "default-helper";
    // Each call below fails `npm run typecheck` without its @ts-expect-error.
    assert.deepEqual(
      // @ts-expect-error: createRun's body has no field `extra`.
      await refused(() => client.call("createRun", { params: { name }, body: { input: "x", extra: 1 } })),
      { code: "invalid_request", paths: ["(body)"] },
    );
    assert.deepEqual(
      // @ts-expect-error: createRun's input is a string.
      await refused(() => client.call("createRun", { params: { name }, body: { input: 42 } })),
      { code: "invalid_request", paths: ["input"] },
    );
    assert.deepEqual(
      // @ts-expect-error: listRuns takes no query field `color`.
      await refused(() => client.call("listRuns", { query: { color: "red" } })),
      { code: "invalid_request", paths: ["color"] },
    );
    assert.deepEqual(
      // @ts-expect-error: getRun needs the run's id.
      await refused(() => client.call("getRun", {})),
      { code: "invalid_request", paths: [] },
    );
    assert.deepEqual(
      // @ts-expect-error: there is no such route.
      await refused(() => client.call("noSuchRoute")),
      { code: "invalid_request", paths: [] },
    );
  });

  test("loads no server, store or runtime module, and no package but zod", () => {
    const script = `
      import { registerHooks } from "node:module";
      const loaded = [];
      registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); loaded.push(result.url); return result; } });
      await import(${JSON.stringify(new URL("./index.ts", import.meta.url).href)});
      console.log(JSON.stringify(loaded));
    `;
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    assert.equal(child.status, 0, child.stderr);
    const loaded = JSON.parse(child.stdout) as string[];
    const modules = loaded.filter((url) => url.startsWith("file:"));
    const root = new URL("../", import.meta.url).href;
    const own = modules.filter((url) => url.startsWith(root)).map((url) => url.slice(root.length));
    assert.ok(own.includes("client/index.ts") && own.includes("api/routes.ts"), own.join(", "));
    assert.deepEqual(
      own.filter(
        (path) =>
          !/^(client|api|errors)\//.test(path) &&
          !["journal/events.ts", "registry/lifecycle-rules.ts"].includes(path),
      ),
      [],
    );
    const packages = new Set(
      modules
        .filter((url) => url.includes("/node_modules/"))
        .map((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1]),
    );
    assert.deepEqual([...packages], ["zod"]);
  });
});
