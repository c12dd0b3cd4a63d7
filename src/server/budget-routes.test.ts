import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import { type BudgetLimits, budgetCounters } from "../governance/budget-ledger.ts";
import { createSqlBudgetLedger } from "../governance/budget-ledger-sql.ts";
import { createAgentCatalog } from "../runtime/agent-catalog.ts";
import type { AgentDefinition } from "../runtime/agent-definition.ts";
import { openStore } from "../store/open-store.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { createApp } from "./create-app.ts";

const NOW = new Date("2026-03-04T10:00:00.000Z");

describe("GET /v1/budgets", () => {
  let store: SqlStore;
  let app: ReturnType<typeof createApp>;
  before(async () => {
    store = await openStore({});
    const ledger = createSqlBudgetLedger(store.sql);
    const agent = (name: string, limits: BudgetLimits, tenant?: string): AgentDefinition => ({
      ...scriptedAgent({ turns: [], name }),
      ...(tenant ? { tenant } : {}),
      budgets: { ledger, limits },
    });
    const triage = agent("triage", {
      perRun: { usd: 0.5 },
      perAgentPerDay: { usd: 2 },
      perTenantPerDay: { usd: 10 },
    });
    const billing = agent("billing", { perTenantPerDay: { usd: 5, tokens: 90_000 } });
    const foreign = agent("globex-helper", { perAgentPerDay: { usd: 1 } }, "globex");
    app = createApp({
      store,
      agents: createAgentCatalog([triage, billing, foreign, scriptedAgent({ turns: [], name: "uncapped" })]),
      log: () => {},
      now: () => NOW,
    });
    // Spend as the runtime does: reserve on every counter the call draws on, then settle what it cost.
    const spend = async (
      definition: AgentDefinition,
      id: string,
      usd: number,
      tokens: number,
      settle: boolean,
    ) => {
      const counters = budgetCounters({
        budgets: definition.budgets!.limits,
        agent: definition.name,
        tenant: definition.tenant ?? "default",
        now: NOW,
      });
      assert.ok((await ledger.reserve({ reservationId: id, counters, usd, tokens })).ok);
      if (settle) await ledger.settle({ reservationId: id, usd, tokens });
    };
    await spend(triage, "call-1", 0.75, 1_000, true);
    await spend(billing, "call-2", 0.25, 400, true);
    await spend(billing, "call-3", 0.1, 50, false);
    await spend(foreign, "call-4", 0.9, 10, true);
  });
  after(async () => {
    await store.close();
  });

  test("lists each daily cap the tenant's agents declare with the ledger's spend for the day, and no other tenant's", async () => {
    const response = await app.request("/v1/budgets");
    assert.equal(response.status, 200, await response.clone().text());
    const body = (await response.json()) as { day: string; budgets: Record<string, unknown>[] };
    assert.equal(body.day, "2026-03-04");
    assert.deepEqual(body.budgets, [
      {
        scope: "agent:triage",
        kind: "agent",
        period: "2026-03-04",
        declaredBy: ["triage"],
        limitUsd: 2,
        limitTokens: null,
        spentUsd: 0.75,
        spentTokens: 1_000,
        reservedUsd: 0,
        reservedTokens: 0,
      },
      {
        scope: "tenant:default",
        kind: "tenant",
        period: "2026-03-04",
        // Each spec's cap is checked against the one counter: the lowest stops runs first.
        declaredBy: ["billing", "triage"],
        limitUsd: 5,
        limitTokens: 90_000,
        spentUsd: 1,
        spentTokens: 1_400,
        reservedUsd: 0.1,
        reservedTokens: 50,
      },
    ]);
  });
});
