import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { KeelGovernor } from "../../src/governance/create-governor.ts";
import type { GovernedAgent } from "../../src/governance/governed-agent.ts";
import type { JournalEvent, Principal } from "../../src/journal/events.ts";
import { hashPayload } from "../../src/journal/hash.ts";
import type { AgentCatalog } from "../../src/runtime/agent-catalog.ts";
import { startRun } from "../../src/runtime/start-run.ts";
import { createWorker, type Worker } from "../../src/runtime/worker.ts";
import { createAgentGovernor } from "../../src/server/agent-policies.ts";
import { loadAgentPackages } from "../../src/server/create-keel.ts";
import { openStore } from "../../src/store/open-store.ts";
import type { SqlStore } from "../../src/store/sql-store.ts";
import { createTestDatabase, testDatabaseServerUrl } from "../../test/support/test-database.ts";
import { supportTriage } from "./index.ts";

const customer: Principal = { subject: "ada@example.com", tenant: "larkspur", roles: ["customer"] };

const serverUrl = testDatabaseServerUrl();
const kinds = [
  { name: "on PGlite", skip: false as const, open: () => openStore({}) },
  {
    name: "on PostgreSQL",
    skip: serverUrl === null ? "no PostgreSQL on this machine (KEEL_TEST_DATABASE_URL is not set)" : false,
    open: async () => openStore({ databaseUrl: await createTestDatabase(serverUrl!) }),
  },
];

for (const kind of kinds) {
  describe(`the governed support-triage agent ${kind.name}`, { skip: kind.skip }, () => {
    let store: SqlStore;
    let agents: AgentCatalog;
    let governed: GovernedAgent[];
    let governor: KeelGovernor;
    let worker: Worker;

    before(async () => {
      store = await kind.open();
      ({ agents, governed } = await loadAgentPackages({ store, packages: [supportTriage], env: {} }));
      governor = await createAgentGovernor({ store, agents: governed, log: () => undefined });
      worker = createWorker({
        store,
        agents: agents.lookup,
        governor,
        owner: "governed-flows",
        leaseTtlMs: 5_000,
      });
      worker.start();
    });
    after(async () => {
      await worker?.stop();
      governor?.close();
      await store?.close();
    });

    async function run(
      input: string,
      principal = customer,
    ): Promise<{ status: string; events: JournalEvent[] }> {
      const agent = agents.current("support-triage")!;
      const { run } = await startRun({ store, agent, input, principal });
      worker.poke();
      for (let i = 0; i < 400; i++) {
        const current = await store.getRun(run.runId);
        if (current && !["queued", "running"].includes(current.status)) {
          return { status: current.status, events: await store.readEvents({ runId: run.runId }) };
        }
        await store.waitForEvents({ runId: run.runId, afterSeq: current?.lastSeq ?? 0, timeoutMs: 100 });
      }
      throw new Error(`run for ${input} did not settle`);
    }

    const toolDecisions = (events: readonly JournalEvent[]) =>
      events.flatMap((event) =>
        event.type === "policy-decision" && event.payload.action === "tool-call" ? [event.payload] : [],
      );

    test("refunds order 1042 (96.00) on its own, journaling agent, user and token id with each decision", async () => {
      const { status, events } = await run("I want a refund for order 1042");
      assert.equal(status, "completed");
      const end = events.at(-1);
      assert.match(
        end?.type === "run-end" ? (end.payload.answer ?? "") : "",
        /^Done, Ada: I've issued refund #\d+ of 96\.00 USD/,
      );
      const decisions = toolDecisions(events);
      assert.deepEqual(
        decisions.map((decision) => [decision.target, decision.decision]),
        [
          ["get_order", "allow"],
          ["issue_refund", "allow"],
        ],
      );
      for (const decision of decisions) {
        assert.deepEqual(decision.agent, { name: "support-triage", version: "1.0.0" });
        assert.deepEqual(decision.principal, customer);
        assert.match(decision.capabilityId ?? "", /^[0-9a-f-]{36}$/);
        assert.equal(JSON.stringify(decision).includes("eyJ"), false, "the token itself is never journaled");
      }
      // Every action, model calls included, is journaled with both the agent and the user it acted for.
      const all = events.flatMap((event) => (event.type === "policy-decision" ? [event.payload] : []));
      assert.ok(all.some((decision) => decision.action.startsWith("model-call")));
      for (const decision of all) {
        assert.deepEqual(
          [decision.agent?.name, decision.principal?.subject],
          ["support-triage", customer.subject],
        );
      }
      // The refund was decided knowing the run had read personal data.
      assert.deepEqual(decisions[1]?.dataClasses, ["internal", "pii"]);
    });

    test("holds a refund of 281.00 for order 1017 for review: the run suspends with the pending call", async () => {
      const { status, events } = await run("I want a refund for order 1017");
      assert.equal(status, "suspended");
      const suspend = events.at(-1);
      assert.ok(suspend?.type === "run-suspend");
      assert.equal(suspend.payload.pendingAction?.tool, "issue_refund");
      assert.deepEqual(suspend.payload.pendingAction?.reasons, ["refunds above 100 need a support lead"]);
      const proposal = events.find(
        (event) => event.type === "tool-call-propose" && event.payload.tool === "issue_refund",
      );
      assert.equal(
        proposal?.type === "tool-call-propose" && proposal.payload.argumentsHash,
        suspend.payload.pendingAction?.argumentsHash,
      );
      assert.equal(
        events.some((event) => event.type === "tool-call-start" && event.payload.tool === "issue_refund"),
        false,
      );
      const refunds = await store.sql.query("SELECT 1 FROM shop.refunds WHERE order_id = 1017");
      assert.equal(refunds.rows.length, 0, "nothing was refunded while the call waits for review");
      // A suspended run holds no worker: it waits in the store alone.
      for (let i = 0; i < 50 && worker.activeRuns > 0; i++)
        await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(worker.activeRuns, 0);
    });

    test("forbids a refund above 500 before anything runs", async () => {
      const args = { orderId: 1050, amount: "650.00", reason: "The customer asked for a refund." };
      const decision = await governor.decide(
        {
          kind: "tool-call",
          runId: "run_direct",
          agent: { name: "support-triage", version: "1.0.0" },
          principal: customer,
          tool: { name: "issue_refund", callId: "c1", arguments: args, argumentsHash: hashPayload(args) },
          dataClasses: ["internal", "pii"],
        },
        { signal: new AbortController().signal },
      );
      assert.equal(decision.decision, "deny");
      assert.deepEqual(decision.reasons, ["refunds above 500 go to the finance team"]);
    });

    test("does not read order details for a user who is not a customer, and tells the customer it could not", async () => {
      const visitor = { subject: "someone", tenant: "larkspur", roles: ["visitor"] };
      const { status, events } = await run("Where is my order 1042?", visitor);
      assert.equal(status, "completed");
      const [decision] = toolDecisions(events);
      assert.equal(decision?.decision, "deny");
      assert.deepEqual(decision?.policies, ["policies/customer-data.cedar#pii-for-known-users"]);
      const end = events.at(-1);
      const answer = end?.type === "run-end" ? (end.payload.answer ?? "") : "";
      assert.match(
        answer,
        /^I'm sorry, I couldn't look up that order\. denied: order details hold personal data/,
      );
      assert.doesNotMatch(answer, /Ada|1ZLH42A80312104284/);
    });

    test("denies order look-ups to a version of the agent that is not granted personal data", async () => {
      const original = governed[0]!;
      const withoutPii: GovernedAgent = {
        ...original,
        version: "1.0.1-no-pii",
        governance: {
          ...original.governance!,
          dataAccess: { ...original.governance!.dataAccess, allowPii: false },
        },
      };
      await governor.load(withoutPii);
      const args = { orderId: 1042 };
      const decision = await governor.decide(
        {
          kind: "tool-call",
          runId: "run_direct",
          agent: { name: "support-triage", version: "1.0.1-no-pii" },
          principal: customer,
          tool: { name: "get_order", callId: "c1", arguments: args, argumentsHash: hashPayload(args) },
          dataClasses: [],
        },
        { signal: new AbortController().signal },
      );
      assert.equal(decision.decision, "deny");
      assert.deepEqual(decision.policies, ["governance.dataAccess.allowPii"]);
    });
  });
}
