import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { testStores } from "../../test/support/test-database.ts";
import { validateAgentPolicies } from "../governance/index.ts";
import type { JournalEvent } from "../journal/index.ts";
import { createMemoryTools, MemoryStore } from "../memory/index.ts";
import { createScriptedModelProvider } from "../models/index.ts";
import { defineAgent, governedTools } from "../runtime/index.ts";
import { startRun } from "../runtime/start-run.ts";
import { GovernanceSection, loadAgentSpec, MemorySection, SpecError } from "../spec/index.ts";
import type { SqlStore } from "../store/index.ts";
import { createKeel, type Keel } from "./create-keel.ts";

const SPEC = `apiVersion: keel/v1
kind: Agent
name: concierge
version: 1.0.0
description: Remembers what its users tell it.
owner: { team: qa }
riskTier: 3
prompt: ./prompt.md
model: { provider: rules, id: table, offline: ./rules.yaml }
tools: [remember, recall]
memory:
  longTerm: { retention: 30d, dataClasses: [internal, pii] }
  knowledgeBase: { name: help, freshness: 30d }
  embedding: { provider: offline, id: ngram }
governance:
  allowedTools: [remember, recall]
  decisionAuthority: { autonomous: [remember, recall] }
  dataAccess: { allowPii: true }
`;
const RULES = `apiVersion: keel/v1\nkind: RulesTable\nrules:\n  - name: anything\n    when: { input: "." }\n    answer: "ok"\n`;

/** An agent directory; `spec` replaces the agent.yaml above. */
async function agentDirectory(spec = SPEC): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "keel-memory-"));
  await writeFile(join(dir, "prompt.md"), "You remember.\n");
  await writeFile(join(dir, "rules.yaml"), RULES);
  await writeFile(join(dir, "agent.yaml"), spec);
  return dir;
}

/**
 * The model's script, read from the run's input: `{"call": {tool, arguments}}` calls that tool once, then answers
 * with what it returned.
 */
const script = createScriptedModelProvider({
  turns(request) {
    const first = request.messages[0];
    const input = JSON.parse(first?.role === "user" ? first.content : "{}") as {
      call: { tool: string; arguments: unknown };
    };
    const result = request.messages.findLast((message) => message.role === "tool");
    if (!result) return { kind: "tool-calls", calls: [{ callId: "c1", ...input.call }] };
    return { kind: "answer", text: JSON.stringify(result.content) };
  },
});

for (const kind of testStores()) {
  describe(`the remember and recall tools on ${kind.name}`, () => {
    let store: SqlStore;
    let keel: Keel;

    before(async () => {
      store = await kind.open();
      const dir = await agentDirectory();
      keel = await createKeel({
        store,
        agents: [defineAgent({ spec: join(dir, "agent.yaml"), tools: [] })],
        env: {},
        log: () => undefined,
        model: (_agent, chosen) => ({ ...chosen, provider: script }),
      });
    });

    after(async () => {
      await keel.close();
      await store.close();
    });

    /** Run one scripted call for `subject` of `tenant` and return the run's journal once it ends. */
    async function call(
      subject: string,
      tool: string,
      args: unknown,
      tenant = "default",
    ): Promise<{ status: string; events: JournalEvent[] }> {
      const { run } = await startRun({
        store,
        agent: keel.agents.current("concierge")!,
        input: JSON.stringify({ call: { tool, arguments: args } }),
        principal: { subject, tenant, roles: [] },
      });
      keel.worker.poke();
      for (let attempt = 0; attempt < 400; attempt += 1) {
        const read = (await store.getRun(run.runId))!;
        if (["completed", "failed", "suspended", "cancelled"].includes(read.status)) {
          return { status: read.status, events: await store.readEvents({ runId: run.runId }) };
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      throw new Error("the run did not end within 10 s");
    }

    const toolResult = (events: JournalEvent[]) => {
      const end = events.find((event) => event.type === "tool-call-end");
      assert.ok(end && end.type === "tool-call-end", "the tool ran");
      return end.payload.result as Record<string, unknown>;
    };

    test("a memory is written for the run's user with an expiry from the retention policy, and recalled for them only", async () => {
      const written = await call("alice", "remember", {
        text: "Alice prefers to be contacted by email, not phone.",
        dataClass: "internal",
      });
      assert.equal(written.status, "completed");
      const stored = toolResult(written.events);
      const expiresIn = Date.parse(stored.expiresAt as string) - Date.now();
      assert.ok(expiresIn > 29 * 86_400_000 && expiresIn <= 30 * 86_400_000, `expires in ${expiresIn} ms`);

      const recalled = toolResult(
        (await call("alice", "recall", { query: "how should we contact her?" })).events,
      );
      const memories = recalled.memories as { text: string; source: string }[];
      assert.equal(memories.length, 1);
      assert.match(memories[0]!.text, /prefers to be contacted by email/);
      assert.match(memories[0]!.source, /^run:/);
      assert.match(recalled.retrieval as string, /hybrid \(embeddings: offline stand-in/);

      const otherUser = toolResult((await call("bob", "recall", { query: "contacted by email" })).events);
      assert.deepEqual(otherUser.memories, []);
      const otherTenant = toolResult(
        (await call("alice", "recall", { query: "contacted by email" }, "globex")).events,
      );
      assert.deepEqual(otherTenant.memories, []);
    });

    test("personal data in a memory that is not declared pii is redacted before it is stored", async () => {
      const written = await call("carol", "remember", {
        text: "Carol asked us to write to carol.jones@larkspur-mail.com about the sofa.",
        dataClass: "internal",
      });
      const stored = toolResult(written.events);
      assert.equal(stored.text, "Carol asked us to write to [REDACTED:email] about the sofa.");
      assert.deepEqual(stored.redacted, ["email"]);
      const { rows } = await store.sql.query<{ text: string }>(
        "SELECT text FROM keel_memories WHERE subject = 'carol'",
      );
      assert.deepEqual(
        rows.map((row) => row.text),
        ["Carol asked us to write to [REDACTED:email] about the sofa."],
      );
    });

    test("the governor denies a remember of a data class the agent may not store, and nothing is written", async () => {
      const denied = await call("dave", "remember", {
        text: "Dave's card ends in 4242.",
        dataClass: "financial",
      });
      const decision = denied.events.find(
        (event) => event.type === "policy-decision" && event.payload.target === "remember",
      );
      assert.ok(decision && decision.type === "policy-decision");
      assert.equal(decision.payload.decision, "deny");
      assert.ok(
        decision.payload.policies?.includes("memory.longTerm.dataClasses"),
        JSON.stringify(decision.payload),
      );
      assert.equal(
        denied.events.some((event) => event.type === "tool-call-start"),
        false,
      );
      const { rows } = await store.sql.query("SELECT 1 FROM keel_memories WHERE subject = 'dave'");
      assert.equal(rows.length, 0);
    });

    test("recall cites knowledge-base chunks by source and updatedAt, flags stale ones and counts them", async () => {
      const memories = new MemoryStore(store.sql);
      await memories.replaceKbFile({
        tenant: "default",
        kb: "help",
        source: "returns.md",
        fileHash: "a",
        updatedAt: new Date("2024-01-02T00:00:00Z"),
        freshUntil: null,
        embeddingModel: null,
        chunks: [{ heading: "Returns", text: "Return unused items within 30 days for a refund." }],
      });
      const recalled = toolResult(
        (await call("erin", "recall", { query: "return an item for a refund" })).events,
      );
      assert.deepEqual(recalled.knowledge, [
        {
          source: "returns.md",
          chunk: 0,
          heading: "Returns",
          text: "Return unused items within 30 days for a refund.",
          updatedAt: "2024-01-02T00:00:00.000Z",
          stale: true,
        },
      ]);
      assert.equal(recalled.staleCount, 1);
      const metrics = await (await keel.fetch(new Request("http://127.0.0.1/metrics"))).text();
      assert.match(metrics, /keel_memory_stale_chunks_total\{agent="concierge",kb="help"\} 1/);
    });
  });
}

test("a spec listing remember without memory.longTerm is refused at the line of that tool", async () => {
  const dir = await agentDirectory(
    SPEC.replace(/memory:\n(?: {2}.*\n)+/, "memory:\n  knowledgeBase: { name: help }\n"),
  );
  await assert.rejects(
    loadAgentSpec(join(dir, "agent.yaml"), { providedTools: [] }),
    (error: unknown) =>
      error instanceof SpecError &&
      /agent\.yaml:10:\d+.*remember is a built-in tool: enable it with memory\.longTerm/s.test(error.message),
  );
});

test("a team Cedar policy narrowing remember by data class validates against the built-in tool's schema", () => {
  const memory = MemorySection.parse({ longTerm: { dataClasses: ["internal", "pii"] } });
  const tools = createMemoryTools({
    agent: "concierge",
    memory,
    guards: undefined,
    sql: {} as never,
    embedder: null,
  });
  const policy = (condition: string) =>
    validateAgentPolicies({
      name: "concierge",
      version: "1.0.0",
      governance: GovernanceSection.parse({
        allowedTools: ["remember", "recall"],
        decisionAuthority: { autonomous: ["remember", "recall"] },
        dataAccess: { allowPii: true },
      }),
      tools: governedTools(tools),
      policyFiles: [
        {
          path: "memory.cedar",
          mode: "enforce",
          text: `forbid (principal in Keel::Role::"guest", action == Keel::Action::"tool:remember", resource) when { ${condition} };`,
        },
      ],
      memoryDataClasses: ["internal", "pii"],
    }).issues;
  assert.deepEqual(policy('context.input has dataClass && context.input.dataClass == "pii"'), []);
  assert.match(
    policy('context.input.dataClass == "pii"')[0]?.message ?? "",
    /optional attribute `input.dataClass`/,
  );
});
