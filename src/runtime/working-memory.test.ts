import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import { testStores } from "../../test/support/test-database.ts";
import { testGovernor } from "../../test/support/test-governor.ts";
import type { JournalEvent, Principal } from "../journal/index.ts";
import { createScriptedModelProvider, type GenerateOptions } from "../models/index.ts";
import { type SqlStore, sqlSessionQueries } from "../store/index.ts";
import { createUpdateWorkingMemoryTool } from "../tools/index.ts";
import type { AgentDefinition } from "./agent-definition.ts";
import { foldEvents } from "./run-state.ts";
import { startRun } from "./start-run.ts";
import { createWorker, type Worker } from "./worker.ts";

const principal: Principal = { subject: "user:ada", tenant: "default", roles: [] };
const schema = {
  type: "object",
  properties: { name: { type: "string" }, plan: { enum: ["free", "pro"] } },
  additionalProperties: false,
};
/** What the model is asked to write to working memory, by the message that asks. */
const writes: Record<string, Record<string, unknown>> = {
  "I am Ada, on the pro plan": { name: "Ada", plan: "pro" },
  "put me on the gold plan": { name: "Ada", plan: "gold" },
};
const systems = new Map<string, string>();
const agent: AgentDefinition = {
  ...scriptedAgent({ name: "notes", turns: [], tools: [createUpdateWorkingMemoryTool(schema)] }),
  workingMemory: { schema },
  provider: createScriptedModelProvider({
    turns: (request: GenerateOptions) => {
      const input = String(
        [...request.messages].reverse().find((message) => message.role === "user")?.content,
      );
      const last = request.messages.at(-1);
      if (last?.role === "tool") {
        return { kind: "answer", text: last.isError ? "I could not note that." : "Noted." };
      }
      systems.set(input, request.system);
      const value = writes[input];
      return value
        ? {
            kind: "tool-calls",
            calls: [{ callId: "w1", tool: "update_working_memory", arguments: { value } }],
          }
        : { kind: "answer", text: "Here is what I know." };
    },
  }),
};

for (const backend of testStores()) {
  describe(`working memory on ${backend.name}`, () => {
    let store: SqlStore;
    let worker: Worker;
    before(async () => {
      store = await backend.open();
      worker = createWorker({
        store,
        agents: () => agent,
        governor: await testGovernor([agent]),
        owner: "memory",
      });
      worker.start();
    });
    after(async () => {
      await worker.stop();
      await store.close();
    });

    test("is updated by a governed, journaled tool call, checked against its schema, and read by later turns", async () => {
      const sessions = sqlSessionQueries(store.sql);
      const { sessionId } = await sessions.createSession({ agent: agent.name, principal });
      const journals: JournalEvent[][] = [];
      for (const input of [
        "I am Ada, on the pro plan",
        "put me on the gold plan",
        "what do you know about me?",
      ]) {
        const { run } = await startRun({ store, agent, input, principal, session: { sessionId } });
        worker.poke();
        for (;;) {
          const current = await store.getRun(run.runId);
          if (current?.status === "completed") break;
          assert.ok(
            current && ["queued", "running"].includes(current.status),
            `${input}: ${current?.status}`,
          );
          await store.waitForEvents({ runId: run.runId, afterSeq: current.lastSeq, timeoutMs: 200 });
        }
        journals.push(await store.readEvents({ runId: run.runId }));
      }
      const [first, second, third] = journals as [JournalEvent[], JournalEvent[], JournalEvent[]];
      // The first turn's model saw an empty memory and wrote it through the governor, as any tool call.
      assert.match(systems.get("I am Ada, on the pro plan")!, /Working memory of this conversation.*\n\{\}$/);
      assert.ok(
        first.some(
          (event) =>
            event.type === "policy-decision" &&
            event.payload.target === "update_working_memory" &&
            event.payload.decision === "allow",
        ),
      );
      assert.deepEqual(foldEvents(first).workingMemory, { name: "Ada", plan: "pro" });
      // A value outside the schema is the tool's error, naming the field, and changes nothing.
      const refused = second.find((event) => event.type === "tool-call-end");
      assert.ok(refused?.type === "tool-call-end" && refused.payload.outcome === "error");
      assert.match(JSON.stringify(refused.payload.error), /value\.plan/);
      assert.deepEqual(foldEvents(second).workingMemory, { name: "Ada", plan: "pro" });
      // The third turn carried the memory (journaled) and its model read it with its instructions.
      const carry = third.find((event) => event.type === "context-carry");
      assert.deepEqual(carry?.type === "context-carry" ? carry.payload.workingMemory : null, {
        name: "Ada",
        plan: "pro",
      });
      assert.ok(systems.get("what do you know about me?")!.endsWith('{"name":"Ada","plan":"pro"}'));
      assert.deepEqual(await sessions.workingMemoryOf(sessionId), { name: "Ada", plan: "pro" });
      assert.equal(await sessions.workingMemoryOf(sessionId, { beforeTurn: 1 }), null);
    });
  });
}
