import type { Hono } from "hono";
import { API_ROUTES } from "../api/index.ts";
import type { BudgetLedger } from "../governance/index.ts";
import type { AgentDefinition } from "../runtime/index.ts";
import { registerRoute } from "./register-route.ts";
import { principalOf } from "./request-principal.ts";

type Cap = { usd?: number | undefined; tokens?: number | undefined } | undefined;
type Counter = {
  scope: string;
  kind: "agent" | "tenant";
  declaredBy: string[];
  limitUsd: number | null;
  limitTokens: number | null;
  ledger: BudgetLedger;
};

/**
 * `GET /v1/budgets`: each daily cap the tenant's agents declare, with what the budget ledger holds against it for
 * the current UTC day — the ledger the runtime reserves from before every model call, so the numbers are the ones
 * that stop a run. Per-run caps are not listed: they have no period to burn through.
 */
export function registerBudgetRoutes(
  app: Hono,
  options: { ownAgents: (tenant: string) => AgentDefinition[]; now?: () => Date },
): void {
  const now = options.now ?? (() => new Date());
  registerRoute(app, API_ROUTES.budgets, async (_, context) => {
    const tenant = principalOf(context).tenant;
    const day = now().toISOString().slice(0, 10);
    const counters = new Map<string, Counter>();
    const declare = (scope: string, kind: Counter["kind"], agent: string, cap: Cap, ledger: BudgetLedger) => {
      if (!cap || (cap.usd === undefined && cap.tokens === undefined)) return;
      const counter = counters.get(scope) ?? {
        scope,
        kind,
        declaredBy: [],
        limitUsd: null,
        limitTokens: null,
        ledger,
      };
      counter.declaredBy.push(agent);
      // Each spec's cap is checked against the one shared counter, so the lowest cap is the one that stops runs.
      counter.limitUsd = lowest(counter.limitUsd, cap.usd);
      counter.limitTokens = lowest(counter.limitTokens, cap.tokens);
      counters.set(scope, counter);
    };
    for (const agent of options.ownAgents(tenant)) {
      if (!agent.budgets) continue;
      const { limits, ledger } = agent.budgets;
      declare(`agent:${agent.name}`, "agent", agent.name, limits.perAgentPerDay, ledger);
      declare(`tenant:${tenant}`, "tenant", agent.name, limits.perTenantPerDay, ledger);
    }
    const budgets = await Promise.all(
      [...counters.values()].map(async ({ ledger, ...counter }) => ({
        ...counter,
        period: day,
        ...(await ledger.read({ scope: counter.scope, period: day })),
      })),
    );
    budgets.sort((a, b) => a.kind.localeCompare(b.kind) || a.scope.localeCompare(b.scope));
    return context.json({ day, budgets });
  });
}

function lowest(current: number | null, cap: number | undefined): number | null {
  if (cap === undefined) return current;
  return current === null ? cap : Math.min(current, cap);
}
