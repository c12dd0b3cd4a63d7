import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type ServerType, serve } from "@hono/node-server";
import { z } from "zod";
import { captureIo } from "../../test/support/capture-io.ts";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import { testStores } from "../../test/support/test-database.ts";
import { testGovernor } from "../../test/support/test-governor.ts";
import { main } from "../cli/main.ts";
import { createKeelClient, type KeelClient } from "../client/index.ts";
import { isKeelError } from "../errors/keel-error.ts";
import type { Principal } from "../journal/events.ts";
import { createAgentCatalog } from "../runtime/agent-catalog.ts";
import { startRun } from "../runtime/start-run.ts";
import { createWorker, type Worker } from "../runtime/worker.ts";
import type { RunRecord } from "../store/index.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { defineTool } from "../tools/tool.ts";
import { createApp } from "./create-app.ts";

const me: Principal = { subject: "ops", tenant: "default", roles: ["admin"] };

/** A tool that runs until its run is interrupted: every run of the agent sits inside it until cancelled. */
const started = new Set<string>();
const hold = defineTool({
  name: "hold",
  description: "Waits until the run is interrupted.",
  input: z.object({}),
  async execute(_input, { runId, signal }) {
    started.add(runId);
    await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    throw signal.reason;
  },
});
const holder = scriptedAgent({
  name: "holder",
  turns: [
    { kind: "tool-calls", calls: [{ callId: "c1", tool: "hold", arguments: {} }] },
    { kind: "answer", text: "done" },
  ],
  tools: [hold],
});
/** Another agent that holds its tool, so a kill of it leaves `holder` alone. */
const boss = scriptedAgent({
  name: "boss",
  turns: [
    { kind: "tool-calls", calls: [{ callId: "c1", tool: "hold", arguments: {} }] },
    { kind: "answer", text: "done" },
  ],
  tools: [hold],
});
/** An agent the worker does not claim (its runs stay as the test leaves them). */
const idle = scriptedAgent({ name: "idle", turns: [{ kind: "answer", text: "x" }] });

async function until(check: () => Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

for (const backend of testStores()) {
  describe(`run trees and signals over HTTP on ${backend.name}`, () => {
    let store: SqlStore;
    let worker: Worker;
    let server: ServerType;
    let client: KeelClient;
    let url: string;

    before(async () => {
      store = await backend.open();
      const agents = createAgentCatalog([holder, boss, idle]);
      const governor = await testGovernor([holder, boss, idle]);
      worker = createWorker({
        store,
        agents: agents.lookup,
        governor,
        owner: "tree-test",
        leaseTtlMs: 3_000,
        claimAgents: ["holder", "boss"],
      });
      const app = createApp({ store, agents, worker, governor, principal: me, log: () => undefined });
      worker.start();
      server = await new Promise<ServerType>((resolve) => {
        const created = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(created));
      });
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      url = `http://127.0.0.1:${port}`;
      client = createKeelClient({ baseUrl: url, checkAnswers: true });
    });
    after(async () => {
      await client.call("resumeAgent", { params: { name: "boss" } }).catch(() => undefined);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await worker.stop();
      await store.close();
    });

    const idleRun = async (parent?: RunRecord, node = "step"): Promise<RunRecord> =>
      (
        await startRun({
          store,
          agent: idle,
          input: "go",
          principal: me,
          ...(parent ? { parent: { runId: parent.runId, node } } : {}),
        })
      ).run;

    test("GET /v1/runs/{id}/tree answers the run and its child runs recursively, each with its parent and node", async () => {
      const top = await idleRun();
      const sanctions = await idleRun(top, "sanctions");
      const news = await idleRun(top, "news");
      const inner = await idleRun(news, "fetch");

      const tree = await client.call("getRunTree", { params: { id: top.runId } });
      assert.equal(tree.id, top.runId);
      assert.equal(tree.agent, "idle");
      assert.equal(tree.status, "queued");
      assert.equal(tree.parentRunId, null);
      assert.equal(tree.runs, 4);
      assert.equal(tree.truncated, false);
      assert.deepEqual(
        tree.children.map((child) => [child.id, child.parentRunId, child.parentNode]),
        [
          [sanctions.runId, top.runId, "sanctions"],
          [news.runId, top.runId, "news"],
        ],
      );
      const [, newsNode] = tree.children;
      assert.deepEqual(
        newsNode?.children.map((child) => [child.id, child.parentNode, child.rootRunId]),
        [[inner.runId, "fetch", top.runId]],
      );
      const shallow = await client.call("getRunTree", { params: { id: top.runId }, query: { depth: "1" } });
      assert.deepEqual([shallow.runs, shallow.truncated], [3, true]);
    });

    test("keel runs tree prints the run and its children indented under it, with each child's parent node", async () => {
      const top = await idleRun();
      const first = await idleRun(top, "sanctions");
      const inner = await idleRun(first, "lookup");
      const io = captureIo();
      assert.equal(await main(["runs", "tree", top.runId, "--url", url], io), 0, io.stderr.join("\n"));
      assert.deepEqual(io.stdout, [
        `${top.runId}  idle  queued`,
        `  ${first.runId}  idle  queued  node sanctions`,
        `    ${inner.runId}  idle  queued  node lookup`,
      ]);
      const json = captureIo();
      assert.equal(await main(["runs", "tree", top.runId, "--json", "--url", url], json), 0);
      assert.equal((JSON.parse(json.stdout.join("\n")) as { runs: number }).runs, 3);
      const missing = captureIo();
      assert.equal(await main(["runs", "tree", "nope", "--url", url], missing), 1);
      assert.match(missing.stderr.join("\n"), /no run "nope"/);
    });

    test("keel signal delivers a named signal with a JSON payload, once per idempotency key", async () => {
      const run = await idleRun();
      const io = captureIo();
      const argv = ["signal", run.runId, "approved", "--payload", '{"by":"cfo"}', "--idempotency-key", "s1"];
      assert.equal(await main([...argv, "--url", url], io), 0, io.stderr.join("\n"));
      assert.deepEqual(io.stdout, [`signal approved delivered to ${run.runId} as event 2`]);
      const again = captureIo();
      assert.equal(await main([...argv, "--url", url], again), 0);
      assert.deepEqual(again.stdout, [`signal approved already delivered to ${run.runId} as event 2`]);
      const events = await store.readEvents({ runId: run.runId });
      assert.deepEqual(events.at(-1)?.payload, {
        name: "approved",
        payload: { by: "cfo" },
        by: me,
        idempotencyKey: "s1",
      });
      const bad = captureIo();
      assert.equal(await main(["signal", run.runId, "approved", "--payload", "{nope", "--url", url], bad), 2);
      assert.match(bad.stderr.join("\n"), /--payload is not JSON/);
      assert.equal((await store.readEvents({ runId: run.runId })).length, events.length);
    });

    test("the tree of an unknown run, or of another tenant's run, is a 404; a bound out of range is a 400", async () => {
      const stranger = await startRun({
        store,
        agent: idle,
        input: "go",
        principal: { subject: "eve", tenant: "t-other", roles: [] },
      });
      for (const id of ["nope", stranger.run.runId]) {
        await assert.rejects(client.call("getRunTree", { params: { id } }), (error: unknown) =>
          isKeelError(error, "not_found"),
        );
      }
      const top = await idleRun();
      await assert.rejects(
        client.call("getRunTree", { params: { id: top.runId }, query: { depth: "65" } }),
        (error: unknown) => isKeelError(error, "invalid_request"),
      );
    });

    test("a signal to a run suspended on it is journaled with its payload and sender, and makes the run runnable", async () => {
      const run = await idleRun();
      const lease = await store.acquireLease({ runId: run.runId, owner: "w", ttlMs: 10_000 });
      const until = new Date(Date.now() + 3_600_000).toISOString();
      await store.append({
        lease: lease!,
        events: [
          { type: "step-start", payload: { step: 1, node: "wait" } },
          {
            type: "run-suspend",
            payload: { reason: "wait", wait: { signals: ["payment-confirmed"], until } },
          },
        ],
      });
      await store.releaseLease(lease!);

      const sent = await client.call("sendSignal", {
        params: { id: run.runId, name: "payment-confirmed" },
        body: { payload: { amount: 42 }, idempotencyKey: "pay-1" },
      });
      assert.deepEqual([sent.duplicate, sent.resumed, sent.by], [false, true, "ops"]);
      const events = await store.readEvents({ runId: run.runId });
      assert.deepEqual(
        events.slice(-2).map((event) => event.type),
        ["signal-receive", "run-resume"],
      );
      const signal = events.at(-2);
      assert.equal(signal?.seq, sent.seq);
      assert.deepEqual(signal?.payload, {
        name: "payment-confirmed",
        payload: { amount: 42 },
        by: me,
        idempotencyKey: "pay-1",
      });
      const resumed = await store.getRun(run.runId);
      assert.deepEqual(
        [resumed?.status, resumed?.wakeAt],
        ["running", null],
        "runnable, and its timer stopped",
      );
      const claimed = await store.claimRuns({ owner: "w2", ttlMs: 10_000, limit: 100, agents: ["idle"] });
      assert.ok(
        claimed.some((each) => each.runId === run.runId),
        "any worker can claim it",
      );
      await store.releaseLease(claimed.find((each) => each.runId === run.runId)!);

      const again = await client.call("sendSignal", {
        params: { id: run.runId, name: "payment-confirmed" },
        body: { payload: { amount: 99 }, idempotencyKey: "pay-1" },
      });
      assert.deepEqual([again.duplicate, again.seq], [true, sent.seq]);
      assert.equal((await store.readEvents({ runId: run.runId })).length, events.length);
    });

    test("a signal the run does not wait for is journaled and leaves it as it was", async () => {
      const run = await idleRun();
      const lease = await store.acquireLease({ runId: run.runId, owner: "w", ttlMs: 10_000 });
      await store.append({
        lease: lease!,
        events: [
          { type: "step-start", payload: { step: 1, node: "wait" } },
          { type: "run-suspend", payload: { reason: "wait", wait: { signals: ["other"] } } },
        ],
      });
      await store.releaseLease(lease!);
      const sent = await client.call("sendSignal", { params: { id: run.runId, name: "early" } });
      assert.deepEqual([sent.duplicate, sent.resumed], [false, false]);
      assert.equal((await store.getRun(run.runId))?.status, "suspended");
      assert.equal((await store.readEvents({ runId: run.runId })).at(-1)?.type, "signal-receive");

      const queued = await idleRun();
      await client.call("sendSignal", { params: { id: queued.runId, name: "buffered" }, body: {} });
      assert.deepEqual(
        (await store.readEvents({ runId: queued.runId })).map((event) => event.type),
        ["run-start", "signal-receive"],
      );
    });

    test("a signal is refused with 409 after the run ended, 404 for an unknown run, and 400 for a bad name", async () => {
      const run = await idleRun();
      const keyed = await client.call("sendSignal", {
        params: { id: run.runId, name: "go" },
        body: { idempotencyKey: "k" },
      });
      const lease = await store.acquireLease({ runId: run.runId, owner: "w", ttlMs: 10_000 });
      await store.append({
        lease: lease!,
        events: [{ type: "run-end", payload: { status: "completed", steps: 0 } }],
      });
      await assert.rejects(
        client.call("sendSignal", { params: { id: run.runId, name: "go" } }),
        (error: unknown) => isKeelError(error, "conflict") && /has ended/.test(error.message),
      );
      const repeated = await client.call("sendSignal", {
        params: { id: run.runId, name: "go" },
        body: { idempotencyKey: "k" },
      });
      assert.deepEqual(
        [repeated.duplicate, repeated.seq],
        [true, keyed.seq],
        "a repeat still answers after the end",
      );
      await assert.rejects(
        client.call("sendSignal", { params: { id: "nope", name: "go" } }),
        (error: unknown) => isKeelError(error, "not_found"),
      );
      const live = await idleRun();
      for (const name of ["9lives", "a".repeat(65), "has:colon"]) {
        await assert.rejects(
          client.call("sendSignal", { params: { id: live.runId, name } }),
          (error: unknown) =>
            isKeelError(error, "invalid_request") && error.issues.some((i) => i.path === "name"),
          name,
        );
      }
      await assert.rejects(
        client.call("sendSignal", {
          params: { id: live.runId, name: "go" },
          body: { extra: true } as never,
        }),
        (error: unknown) => isKeelError(error, "invalid_request"),
      );
      assert.equal(
        (await store.readEvents({ runId: live.runId })).length,
        1,
        "nothing journaled for bad input",
      );
    });

    test("POST /v1/runs/{id}/cancel on a parent ends every descendant a worker is running, journals who cancelled each, and refuses a child started after the parent ended", async () => {
      const principal = me;
      const top = (await startRun({ store, agent: holder, input: "go", principal })).run;
      const children = await Promise.all(
        ["a", "b", "c"].map(
          async (node) =>
            (
              await startRun({
                store,
                agent: holder,
                input: "go",
                principal,
                parent: { runId: top.runId, node },
              })
            ).run,
        ),
      );
      const grandchild = (
        await startRun({
          store,
          agent: holder,
          input: "go",
          principal,
          parent: { runId: children[0]!.runId, node: "deep" },
        })
      ).run;
      const everyone = [top, ...children, grandchild];
      worker.poke();
      await until(
        async () => everyone.every((run) => started.has(run.runId)),
        "every run to be inside its tool",
      );

      const answer = await client.call("cancelRun", { params: { id: top.runId } });
      assert.equal(answer.cancelRequested, true);
      assert.deepEqual(answer.cancelRequest, { by: me.subject });
      await until(
        async () =>
          (await Promise.all(everyone.map(async (run) => (await store.getRun(run.runId))?.status))).every(
            (status) => status === "cancelled",
          ),
        "every run of the tree to end cancelled",
      );
      // Each run's journal says who cancelled it, just before its run-end; a descendant names the run cancelled.
      const reached = { by: me.subject, reason: `the cancel of run ${top.runId} reached it` };
      for (const [run, request] of [
        [top, { by: me.subject }],
        [children[1]!, reached],
        [grandchild, reached],
      ] as const) {
        const events = await store.readEvents({ runId: run.runId });
        const [cancel, end] = events.slice(-2);
        assert.equal(cancel?.type, "run-cancel", run.runId);
        const { by, ...reason } = request;
        assert.deepEqual(cancel?.payload, { requestedBy: by, ...reason });
        assert.deepEqual(
          end?.type === "run-end" && end.payload.error,
          {
            code: "cancelled",
            message: request === reached ? `cancelled by ops: ${reached.reason}` : "cancelled by ops",
          },
          run.runId,
        );
        const view = await client.call("getRun", { params: { id: run.runId } });
        assert.deepEqual([view.cancelRequested, view.cancelRequest], [true, request]);
      }
      // A child a worker of the parent would create after the cancel: the parent has ended, so it is refused.
      await assert.rejects(
        startRun({
          store,
          agent: holder,
          input: "go",
          principal,
          parent: { runId: children[1]!.runId, node: "late" },
        }),
        (error: unknown) => isKeelError(error, "conflict"),
      );
    });

    test("a kill of the parent's agent ends the parent and, through it, its children of another agent, each journaling that Keel cancelled it", async () => {
      const parent = (await startRun({ store, agent: boss, input: "go", principal: me })).run;
      const children = await Promise.all(
        ["x", "y"].map(
          async (node) =>
            (
              await startRun({
                store,
                agent: holder,
                input: "go",
                principal: me,
                parent: { runId: parent.runId, node },
              })
            ).run,
        ),
      );
      worker.poke();
      await until(
        async () => [parent, ...children].every((run) => started.has(run.runId)),
        "the parent and its children to be inside their tools",
      );
      await client.call("killAgent", { params: { name: "boss" }, body: { reason: "runaway" } });
      await until(
        async () =>
          (
            await Promise.all(
              [parent, ...children].map(async (run) => (await store.getRun(run.runId))?.status),
            )
          ).every((status) => status === "cancelled"),
        "the parent and both children to end cancelled",
      );
      assert.equal((await store.getRun(parent.runId))?.error?.code, "killed");
      // The children were cancelled by Keel itself, for their parent's end, and their journals say so.
      const reason = `the cancel of run ${parent.runId} reached it: run ${parent.runId} ended cancelled`;
      for (const child of children) {
        const run = await store.getRun(child.runId);
        assert.deepEqual([run?.cancelRequested, run?.cancelRequest], [true, { by: "system:keel", reason }]);
        const events = await store.readEvents({ runId: child.runId });
        assert.deepEqual(
          events.slice(-2).map((event) => [event.type, event.type === "run-cancel" ? event.payload : null]),
          [
            ["run-cancel", { requestedBy: "system:keel", reason }],
            ["run-end", null],
          ],
        );
      }
      await client.call("resumeAgent", { params: { name: "boss" } });
    });
  });
}
