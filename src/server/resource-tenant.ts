import type { Context } from "hono";
import type { OwnedResource } from "../api/index.ts";
import { sqlEvaluationLog } from "../evals/index.ts";
import type { ApiKeyStore } from "../governance/index.ts";
import type { ApprovalQueries, ApprovalRecord, SessionQueries, Store } from "../store/index.ts";

declare module "hono" {
  interface ContextVariableMap {
    /**
     * The approval request the path names, as the authorization gate read it to find its owner: the route reads
     * it from here rather than again. Read outside any lock, as the route's own read would be; a decision is
     * checked against the run's journal under its lease all the same.
     */
    ownedApproval: ApprovalRecord;
  }
}

/**
 * The tenant a resource belongs to, or null when there is no such resource. What was read to find it may be left
 * on the request's context for the route (`ownedApproval`).
 */
export type ResourceTenant = (
  kind: Exclude<OwnedResource, "tenant">,
  id: string,
  context: Context,
) => Promise<string | null>;

/**
 * Find the owner tenant of what a path names: a run (its principal's tenant), an approval request or a feedback
 * score (their run's), an agent (its spec's `tenant`), an API key (the tenant it was created in), a session (its
 * opener's tenant; a deleted one has none).
 */
export function createResourceTenant(options: {
  store: Store & ApprovalQueries;
  sessions: Pick<SessionQueries, "getSession">;
  agentTenant: (name: string) => string | undefined;
  keys?: Pick<ApiKeyStore, "find">;
}): ResourceTenant {
  const { store } = options;
  const feedback = sqlEvaluationLog(store.sql);
  const runTenant = async (runId: string) => (await store.getRun(runId))?.tenant ?? null;
  return async (kind, id, context) => {
    switch (kind) {
      case "agent":
        return options.agentTenant(id) ?? null;
      case "run":
        return await runTenant(id);
      case "approval": {
        const found = await store.approvalWithTenant(id);
        if (found) context.set("ownedApproval", found.record);
        return found?.tenant ?? null;
      }
      case "feedback": {
        const eventId = /^\d{1,15}$/.test(id) ? Number(id) : 0;
        if (eventId < 1) return null;
        const [event] = await feedback.list({ afterId: eventId - 1, limit: 1, type: "feedback" });
        return event && event.eventId === eventId ? await runTenant(event.runId) : null;
      }
      case "key":
        return (await options.keys?.find(id))?.tenant ?? null;
      case "session":
        return (await options.sessions.getSession(id))?.tenant ?? null;
      default: {
        const unreachable: never = kind;
        return unreachable;
      }
    }
  };
}
