import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createScriptedModelProvider } from "../../src/models/scripted-model-provider.ts";
import { startRun } from "../../src/runtime/start-run.ts";
import { createKeel, type Keel } from "../../src/server/create-keel.ts";
import type { SqlStore } from "../../src/store/sql-store.ts";
import { testStores } from "../../test/support/test-database.ts";
import { supportTriage } from "./index.ts";

/** A model that recalls from the help centre once, then answers citing the first passage it got. */
const citingModel = createScriptedModelProvider({
  turns(request) {
    const result = request.messages.findLast((message) => message.role === "tool");
    const question = request.messages[0]?.role === "user" ? request.messages[0].content : "";
    if (!result) {
      return {
        kind: "tool-calls",
        calls: [{ callId: "r1", tool: "recall", arguments: { query: question, limit: 3 } }],
      };
    }
    const { knowledge } = result.content as {
      knowledge: { source: string; updatedAt: string; text: string }[];
    };
    const best = knowledge[0]!;
    return {
      kind: "answer",
      text: `${best.text.split("\n")[0]} (source: ${best.source}, updated ${best.updatedAt})`,
    };
  },
});

for (const kind of testStores()) {
  describe(`support-triage recalls from its ingested help centre on ${kind.name}`, () => {
    let store: SqlStore;
    let keel: Keel;

    before(async () => {
      store = await kind.open();
      keel = await createKeel({
        store,
        agents: [supportTriage],
        env: { ANTHROPIC_API_KEY: "" },
        log: () => undefined,
        api: false,
        model: (_agent, chosen) => ({ ...chosen, provider: citingModel }),
      });
    });

    after(async () => {
      await keel.close();
      await store.close();
    });

    test("the package's setup ingested the help centre, and a governed recall answers citing the article and its date", async () => {
      const { rows } = await store.sql.query<{ files: number | string }>(
        "SELECT count(DISTINCT source) AS files FROM keel_kb_chunks WHERE tenant = 'default' AND kb = 'help-centre'",
      );
      assert.equal(Number(rows[0]!.files), 12);
      const { run } = await startRun({
        store,
        agent: keel.agents.current("support-triage")!,
        input: "How long does a refund take to reach my credit card?",
        principal: { subject: "ada@example.com", tenant: "default", roles: ["customer"] },
      });
      keel.worker.poke();
      let ended = (await store.getRun(run.runId))!;
      for (let attempt = 0; attempt < 400 && !["completed", "failed"].includes(ended.status); attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        ended = (await store.getRun(run.runId))!;
      }
      assert.equal(ended.status, "completed", JSON.stringify(ended.error));
      assert.match(ended.answer ?? "", /\(source: refunds\.md, updated \d{4}-\d{2}-\d{2}T/);
      const events = await store.readEvents({ runId: run.runId });
      const decision = events.find(
        (event) => event.type === "policy-decision" && event.payload.target === "recall",
      );
      assert.equal(decision?.type === "policy-decision" && decision.payload.decision, "allow");
    });
  });
}
