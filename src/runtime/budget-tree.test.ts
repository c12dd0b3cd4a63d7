import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import { gatewayAgent } from "../../test/support/telemetry-scenario.ts";
import { testStores } from "../../test/support/test-database.ts";
import { testGovernor } from "../../test/support/test-governor.ts";
import { createSqlBudgetLedger } from "../governance/index.ts";
import { startLoopbackProvider } from "../models/loopback/loopback-provider-server.ts";
import type { AgentDefinition } from "./agent-definition.ts";
import { foldEvents } from "./run-state.ts";
import { budgetsForChildren, startRun } from "./start-run.ts";
import { createWorker } from "./worker.ts";

const principal = { subject: "tester", tenant: "default", roles: [] };
const CHILDREN = 40;

for (const { name, open } of testStores()) {
  describe(`a run tree's budget (${name})`, () => {
    test("children of a parent with a $1 cap spend at most $1 plus one reserved call, run eight at a time", async () => {
      const store = await open();
      const provider = await startLoopbackProvider({ wire: "anthropic" });
      try {
        const ledger = createSqlBudgetLedger(store.sql);
        // The parent's own spec caps each of its runs at $1; it is never worked here, only its children are.
        const parentAgent: AgentDefinition = {
          ...scriptedAgent({ name: "tree-root", turns: [] }),
          budgets: { ledger, limits: { perRun: { usd: 1 } } },
        };
        // Children with no caps of their own, each answering in one priced call of about $0.045 (3,000 output
        // tokens at $15 per million), reserved at its ceiling (4,000 output tokens, about $0.06): 40 of them
        // would spend about $1.80.
        const child: AgentDefinition = {
          ...gatewayAgent({ server: provider, name: "tree-leaf", tools: [] }),
          params: { maxOutputTokens: 4_000 },
          budgets: { ledger, limits: {} },
        };
        for (let index = 0; index < CHILDREN; index += 1) {
          provider.push({ reply: { text: `leaf ${index} done`, usage: { input: 20, output: 3_000 } } });
        }
        const { run: parent } = await startRun({ store, agent: parentAgent, input: "fan out", principal });
        const inherited = budgetsForChildren(
          parentAgent,
          foldEvents(await store.readEvents({ runId: parent.runId })),
        );
        assert.deepEqual(inherited, [{ runId: parent.runId, usd: 1 }]);
        const children: string[] = [];
        for (let index = 0; index < CHILDREN; index += 1) {
          const { run } = await startRun({
            store,
            agent: child,
            input: `leaf ${index}`,
            principal,
            parent: { runId: parent.runId, node: "fan" },
            parentBudgets: inherited,
          });
          children.push(run.runId);
        }
        const worker = createWorker({
          store,
          agents: (agent) => (agent === child.name ? child : undefined),
          governor: await testGovernor([child]),
          owner: "budget-tree",
          concurrency: 8,
          claimAgents: [child.name],
          log: () => undefined,
        });
        worker.start();
        const statuses: string[] = [];
        try {
          for (const runId of children) {
            for (let waited = 0; ; waited += 20) {
              const run = await store.getRun(runId);
              if (run && ["completed", "failed", "cancelled", "budget_exceeded"].includes(run.status)) {
                statuses.push(run.status);
                break;
              }
              if (waited > 30_000) throw new Error(`child ${runId} did not end`);
              await new Promise((resolve) => setTimeout(resolve, 20));
            }
          }
        } finally {
          await worker.stop();
        }
        let spent = 0;
        for (const runId of children) {
          for (const event of await store.readEvents({ runId })) {
            if (event.type === "model-call-end") spent += event.payload.cost?.usd ?? 0;
          }
        }
        const { rows } = await store.sql.query<{ largest: string }>(
          "SELECT max(nano_usd)::text AS largest FROM keel_budget_reservations",
        );
        const oneReservedCall = Number(rows[0]?.largest ?? 0) / 1e9;
        assert.ok(
          oneReservedCall > 0.04 && oneReservedCall < 0.1,
          `a call is reserved at $${oneReservedCall}`,
        );
        assert.ok(spent <= 1 + oneReservedCall, `the children spent $${spent.toFixed(4)} under a $1 cap`);
        assert.ok(spent > 0.5, `the cap was used, not refused early ($${spent.toFixed(4)})`);
        assert.ok(statuses.includes("budget_exceeded"), "the parent's cap stopped some children");
        assert.ok(statuses.includes("completed"));
        assert.equal(
          statuses.filter((status) => status !== "completed" && status !== "budget_exceeded").length,
          0,
          statuses.join(", "),
        );
        // The ledger's counter for the parent's run is the one every child drew on.
        const counter = await ledger.read({ scope: `run:${parent.runId}`, period: "run" });
        assert.ok(
          Math.abs(counter.spentUsd - spent) < 1e-6,
          `ledger ${counter.spentUsd} against journals ${spent}`,
        );
        assert.equal(counter.reservedUsd, 0, "every reservation was settled or released");
      } finally {
        await provider.close();
        await store.close();
      }
    });
  });
}
