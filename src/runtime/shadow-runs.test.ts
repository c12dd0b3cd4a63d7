import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { z } from "zod";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import { testStores } from "../../test/support/test-database.ts";
import { testGovernor } from "../../test/support/test-governor.ts";
import { isKeelError } from "../errors/index.ts";
import type { JournalEvent, PayloadOf, Principal } from "../journal/index.ts";
import { RolloutSection } from "../spec/index.ts";
import type { SqlStore } from "../store/index.ts";
import { defineTool } from "../tools/index.ts";
import type { AgentDefinition } from "./agent-definition.ts";
import type { ShadowSettings } from "./shadow-settings.ts";
import { startRun } from "./start-run.ts";
import { createWorker, type Worker } from "./worker.ts";

const ada: Principal = { subject: "ada", tenant: "default", roles: [] };

/** What the tools did outside Keel: every execution, by tool, and every dry run. */
const outside = { sent: [] as unknown[], looked: 0, dryRuns: 0 };

const send = defineTool({
  name: "send",
  description: "Queues a message (a side effect).",
  input: z.object({ to: z.string() }),
  sideEffect: true,
  async execute({ to }) {
    outside.sent.push(to);
    return { queued: outside.sent.length, to };
  },
  async dryRun({ to }) {
    outside.dryRuns += 1;
    return { queued: 0, to, dryRun: true };
  },
});
const lookup = defineTool({
  name: "lookup",
  description: "Reads something (no side effect).",
  input: z.object({}),
  async execute() {
    outside.looked += 1;
    return { found: true };
  },
});

/** An agent that sends to `to`, looks something up, then answers. */
function agent(version: string, to: string, shadow?: ShadowSettings): AgentDefinition {
  return {
    ...scriptedAgent({
      name: "sender",
      version,
      tools: [send, lookup],
      turns: [
        {
          kind: "tool-calls",
          calls: [
            { callId: "c1", tool: "send", arguments: { to } },
            { callId: "c2", tool: "lookup", arguments: {} },
          ],
        },
        { kind: "answer", text: `sent to ${to}` },
      ],
    }),
    ...(shadow ? { rollout: RolloutSection.parse({ shadow }) } : {}),
  };
}

const stable = agent("1.0.0", "bob");
const candidates = {
  live: agent("2.0.0-live", "bob"),
  elsewhere: agent("2.0.0-elsewhere", "carol"),
  stub: agent("2.0.0-stub", "bob", { results: { send: { stub: { queued: -1 } } }, default: "live" }),
  dryRun: agent("2.0.0-dry", "bob", { results: {}, default: "dry-run" }),
};

for (const kind of testStores()) {
  describe(`shadow runs on ${kind.name}`, () => {
    let store: SqlStore;
    let worker: Worker;
    let liveRunId: string;

    before(async () => {
      store = await kind.open();
      const all = [stable, ...Object.values(candidates)];
      const governor = await testGovernor(all);
      worker = createWorker({
        store,
        agents: (name, version) => all.find((each) => each.name === name && each.version === version),
        governor,
        owner: "shadow-test",
        leaseTtlMs: 5_000,
      });
      worker.start();
      liveRunId = (await finish(stable)).runId;
    });
    after(async () => {
      await worker?.stop();
      await store?.close();
    });

    async function finish(
      definition: AgentDefinition,
      shadowOf?: string,
    ): Promise<{ runId: string; events: JournalEvent[] }> {
      const { run } = await startRun({
        store,
        agent: definition,
        input: "send it",
        principal: ada,
        ...(shadowOf ? { shadowOf: { runId: shadowOf } } : {}),
      });
      worker.poke();
      for (let i = 0; i < 300; i++) {
        const current = (await store.getRun(run.runId))!;
        if (!["queued", "running"].includes(current.status)) {
          return { runId: run.runId, events: await store.readEvents({ runId: run.runId }) };
        }
        await store.waitForEvents({ runId: run.runId, afterSeq: current.lastSeq, timeoutMs: 100 });
      }
      throw new Error(`run ${run.runId} did not settle`);
    }

    const endOf = (events: readonly JournalEvent[], tool: string) => {
      const end = events.find((event) => event.type === "tool-call-end" && event.payload.tool === tool);
      return end?.type === "tool-call-end" ? end.payload : undefined;
    };
    const started = (events: readonly JournalEvent[]) =>
      events.flatMap((event) => (event.type === "tool-call-start" ? [event.payload.tool] : []));

    /** Run a shadow of the live run and check what every shadow must: it sent nothing, and it read as any run. */
    async function shadow(definition: AgentDefinition): Promise<{
      events: JournalEvent[];
      send: PayloadOf<"tool-call-end">;
    }> {
      const sent = outside.sent.length;
      const looked = outside.looked;
      const { runId, events } = await finish(definition, liveRunId);
      assert.equal(outside.sent.length, sent, "a shadow run executes no side-effecting call");
      assert.equal(outside.looked, looked + 1, "a shadow run's read-only calls run");
      assert.deepEqual(started(events), ["lookup"]);
      const decision = events.find(
        (event) => event.type === "policy-decision" && event.payload.target === "send",
      );
      assert.ok(decision?.type === "policy-decision" && decision.payload.shadowed === true);
      assert.equal((await store.getRun(runId))!.shadowOf, liveRunId);
      return { events, send: endOf(events, "send")! };
    }

    test("answers a side-effecting call with the live run's result of the same call", async () => {
      const { send: end, events } = await shadow(candidates.live);
      assert.equal(end.outcome, "ok");
      assert.deepEqual(end.shadowed, { answer: "live", live: { runId: liveRunId, callId: "c1" } });
      const live = endOf(await store.readEvents({ runId: liveRunId }), "send");
      assert.deepEqual(end.result, live?.result);
      const last = events.at(-1);
      assert.ok(last?.type === "run-end" && last.payload.status === "completed");
    });

    test("says the call was not executed where the live run made no such call", async () => {
      const { send: end } = await shadow(candidates.elsewhere);
      assert.equal(end.outcome, "error");
      assert.equal(end.error?.code, "shadowed");
      assert.match(
        end.error?.message ?? "",
        /send was not executed: this is a shadow run.*no send call with these arguments/,
      );
      assert.deepEqual(end.shadowed, { answer: "not-executed" });
    });

    test("answers with the stub the settings declare", async () => {
      const { send: end } = await shadow(candidates.stub);
      assert.deepEqual([end.outcome, end.result, end.shadowed], ["ok", { queued: -1 }, { answer: "stub" }]);
    });

    test("answers with the tool's dry run, which applies nothing", async () => {
      const dryRuns = outside.dryRuns;
      const { send: end } = await shadow(candidates.dryRun);
      assert.equal(outside.dryRuns, dryRuns + 1);
      assert.deepEqual(
        [end.result, end.shadowed],
        [{ queued: 0, to: "bob", dryRun: true }, { answer: "dry-run" }],
      );
    });

    test("refuses a shadow that is a session's message, shadows a shadow, or names another tenant's run", async () => {
      const start = (options: { shadowOf: string; principal?: Principal; session?: string }) =>
        startRun({
          store,
          agent: candidates.live,
          input: "send it",
          principal: options.principal ?? ada,
          shadowOf: { runId: options.shadowOf },
          ...(options.session ? { session: { sessionId: options.session } } : {}),
        });
      await assert.rejects(start({ shadowOf: liveRunId, session: "s_1" }), (error) =>
        isKeelError(error, "invalid_request"),
      );
      await assert.rejects(start({ shadowOf: liveRunId, principal: { ...ada, tenant: "other" } }), (error) =>
        isKeelError(error, "not_found"),
      );
      const { run } = await start({ shadowOf: liveRunId });
      await assert.rejects(start({ shadowOf: run.runId }), (error) => isKeelError(error, "invalid_request"));
    });
  });
}
