import type { Hono } from "hono";
import { API_ROUTES } from "../api/index.ts";
import { KeelError } from "../errors/index.ts";
import type { AgentCatalog, Worker } from "../runtime/index.ts";
import { redactionPolicyOf, sendSignal } from "../runtime/index.ts";
import type { RunTreeNode, Store } from "../store/index.ts";
import { registerRoute } from "./register-route.ts";
import { principalOf } from "./request-principal.ts";

/** The API's JSON view of one run of a tree, with its children. */
function presentTreeNode(node: RunTreeNode): Record<string, unknown> {
  const { run } = node;
  return {
    id: run.runId,
    agent: run.agent,
    agentVersion: run.agentVersion,
    status: run.status,
    parentRunId: run.parentRunId,
    parentNode: run.parentNode,
    rootRunId: run.rootRunId,
    cancelRequested: run.cancelRequested,
    cancelRequest: run.cancelRequest,
    wakeAt: run.wakeAt?.toISOString() ?? null,
    createdAt: run.createdAt.toISOString(),
    updatedAt: run.updatedAt.toISOString(),
    moreChildren: node.moreChildren,
    children: node.children.map(presentTreeNode),
  };
}

/**
 * The run tree over HTTP: `GET /v1/runs/{id}/tree` (the run and its child runs, recursively) and
 * `POST /v1/runs/{id}/signals/{name}` (deliver a signal, journaled through the run's lease like an approval decision).
 */
export function registerRunTreeRoutes(
  app: Hono,
  options: { store: Store; agents: AgentCatalog; worker?: Worker },
): void {
  const { store, agents, worker } = options;

  /** The run, when it exists and acts for the caller's tenant; another tenant's run is as absent as a missing one. */
  const requireRun = async (runId: string, tenant: string) => {
    const run = await store.getRun(runId);
    if (!run || run.tenant !== tenant) throw new KeelError("not_found", `no run "${runId}"`);
    return run;
  };

  registerRoute(app, API_ROUTES.getRunTree, async ({ params, query }, context) => {
    const run = await requireRun(params.id, principalOf(context).tenant);
    const tree = await store.getRunTree({
      runId: run.runId,
      ...(query.depth === undefined ? {} : { maxDepth: query.depth }),
      ...(query.runs === undefined ? {} : { maxRuns: query.runs }),
      ...(query.children === undefined ? {} : { maxChildren: query.children }),
    });
    if (!tree) throw new KeelError("not_found", `no run "${params.id}"`);
    return context.json({ ...presentTreeNode(tree.root), runs: tree.runs, truncated: tree.truncated });
  });

  registerRoute(app, API_ROUTES.sendSignal, async ({ params, body }, context) => {
    const principal = principalOf(context);
    const run = await requireRun(params.id, principal.tenant);
    const guards = agents.lookup(run.agent, run.agentVersion)?.guards;
    const outcome = await sendSignal({
      store,
      runId: run.runId,
      name: params.name,
      ...(body?.payload === undefined ? {} : { payload: body.payload }),
      ...(body?.idempotencyKey === undefined ? {} : { idempotencyKey: body.idempotencyKey }),
      by: principal,
      owner: "api",
      redaction: redactionPolicyOf({ runId: run.runId, guards }),
    });
    if (outcome.resumed) worker?.poke();
    const { event } = outcome;
    return context.json(
      {
        runId: event.runId,
        name: event.payload.name,
        seq: event.seq,
        at: event.at,
        by: event.payload.by.subject,
        duplicate: outcome.duplicate,
        resumed: outcome.resumed,
      },
      outcome.duplicate ? 200 : 202,
    );
  });
}
