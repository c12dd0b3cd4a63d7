import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { driveRun } from "../../test/support/drive-run.ts";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import { testStores } from "../../test/support/test-database.ts";
import type { JournalEvent } from "../journal/events.ts";
import type { GenerateOptions } from "../models/model-provider.ts";
import { createScriptedModelProvider, type ScriptedTurn } from "../models/scripted-model-provider.ts";
import type { Store } from "../store/store.ts";
import type { AgentDefinition } from "./agent-definition.ts";
import { foldEvents } from "./run-state.ts";

const principal = { subject: "tester", tenant: "acme", roles: [] };
const schema = {
  type: "object",
  properties: {
    severity: { enum: ["low", "high"] },
    summary: { type: "string", minLength: 1 },
  },
  required: ["severity", "summary"],
  additionalProperties: false,
};

let store: Store;

/** An agent with an output schema whose scripted model answers each turn in turn, keeping the requests it got. */
function structuredAgent(turns: readonly ScriptedTurn[], maxRetries = 2) {
  const requests: GenerateOptions[] = [];
  const scripted = createScriptedModelProvider({ turns });
  const agent: AgentDefinition = {
    ...scriptedAgent({ name: "triager", turns: [] }),
    provider: {
      ...scripted,
      generate: async (request) => {
        // The request's messages are the run's live state: keep what the model saw at the time.
        requests.push({ ...request, messages: [...request.messages] });
        return await scripted.generate(request);
      },
    },
    output: { schema, maxRetries },
  };
  return { agent, requests };
}

async function runToEnd(agent: AgentDefinition): Promise<JournalEvent[]> {
  return (await driveRun({ store, agent, input: "disk full on db-1", principal })).events;
}

function runEnd(events: readonly JournalEvent[]) {
  const last = events.at(-1);
  assert.ok(last?.type === "run-end");
  return last.payload;
}

for (const backend of testStores()) {
  describe(`structured answers on ${backend.name}`, () => {
    before(async () => {
      store = await backend.open();
    });
    after(async () => {
      await store.close();
    });

    test("a matching answer completes the run with the parsed value, and the model is told the schema", async () => {
      const { agent, requests } = structuredAgent([
        { kind: "answer", text: '```json\n{"severity": "high", "summary": "db-1 is out of disk"}\n```' },
      ]);
      const end = runEnd(await runToEnd(agent));
      assert.equal(end.status, "completed");
      assert.deepEqual(end.output, { severity: "high", summary: "db-1 is out of disk" });
      assert.equal(end.answer, '{"severity":"high","summary":"db-1 is out of disk"}');
      assert.match(requests[0]!.system, /JSON Schema: \{"type":"object"/);
    });

    test("a mismatch is journaled with what was wrong, the model is told so, and its corrected answer completes the run", async () => {
      const { agent, requests } = structuredAgent([
        { kind: "answer", text: '{"severity": "urgent", "summary": "db-1 is out of disk", "owner": "dba"}' },
        { kind: "answer", text: '{"severity": "high", "summary": "db-1 is out of disk"}' },
      ]);
      const events = await runToEnd(agent);
      const ends = events.filter((event) => event.type === "model-call-end");
      const why = ends[0]?.type === "model-call-end" ? ends[0].payload.outputRejection : undefined;
      assert.equal(
        why,
        "/ must NOT have additional properties (owner); /severity must be equal to one of the allowed values (low, high)",
      );
      assert.equal(ends[1]?.type === "model-call-end" && ends[1].payload.outputRejection, undefined);
      const retry = requests[1]!.messages;
      assert.deepEqual(retry.at(-1), {
        role: "user",
        content: `Your answer does not match the required output schema: ${why}. Answer again with only a JSON value that matches the schema, and no other text.`,
      });
      // The feedback is part of the run's state as the journal folds it: a resumed run tells the model the same.
      assert.deepEqual(
        foldEvents(events.slice(0, events.indexOf(ends[0]!) + 1)).messages.at(-1),
        retry.at(-1),
      );
      const end = runEnd(events);
      assert.equal(end.status, "completed");
      assert.deepEqual(end.output, { severity: "high", summary: "db-1 is out of disk" });
    });

    test("after maxRetries mismatches the run fails with output_schema_mismatch naming the violation", async () => {
      const { agent, requests } = structuredAgent(
        [
          { kind: "answer", text: "It is a high severity disk problem." },
          { kind: "answer", text: '{"severity": "high"}' },
        ],
        1,
      );
      const end = runEnd(await runToEnd(agent));
      assert.equal(requests.length, 2, "asked once more, then no more");
      assert.equal(end.status, "failed");
      assert.deepEqual(end.error, {
        code: "output_schema_mismatch",
        message:
          "the answer does not match the agent's output schema after 2 tries: / must have required property 'summary'",
      });
      assert.equal(end.output, undefined);
    });

    test("an answer that is not JSON is sent back saying so", async () => {
      const { agent } = structuredAgent([{ kind: "answer", text: "high" }], 0);
      const end = runEnd(await runToEnd(agent));
      assert.equal(end.error?.code, "output_schema_mismatch");
      assert.match(end.error?.message ?? "", /after 1 try: the answer is not JSON/);
    });
  });
}
