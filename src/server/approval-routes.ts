import type { Context, Hono } from "hono";
import { API_ROUTES } from "../api/index.ts";
import { approvalMetrics, caseFromResolution, decideApproval, foldApproval } from "../approvals/index.ts";
import { KeelError } from "../errors/index.ts";
import { type PayloadSealer, redactText } from "../guards/index.ts";
import type { AgentCatalog, Worker } from "../runtime/index.ts";
import { redactionPolicyOf, sealEditedArguments } from "../runtime/index.ts";
import type { ApprovalQueries, SealedArgumentsStore, Store } from "../store/index.ts";
import { describeZodIssues } from "../tools/index.ts";
import type { IdentifyApprover } from "./approval-principal.ts";
import { presentApproval, presentApprovalDetail, presentDecided } from "./present-approval.ts";
import { registerRoute } from "./register-route.ts";
import { principalOf } from "./request-principal.ts";

/**
 * The approvals inbox over HTTP: `GET /v1/approvals` (the queue, filtered), `GET /v1/approvals/metrics`,
 * `GET /v1/approvals/{id}`, `POST /v1/approvals/{id}/decision` and `POST /v1/approvals/{id}/promote` (a decided
 * request as an eval case). Decisions name their approver through `identify` (headers until authentication lands).
 */
export function registerApprovalRoutes(
  app: Hono,
  options: {
    store: Store & ApprovalQueries;
    agents: AgentCatalog;
    worker?: Worker;
    identify: IdentifyApprover;
    now?: () => Date;
    /** Seals an approver's edited arguments that redaction masks, as the worker does for the model's calls. */
    sealing?: { sealer: PayloadSealer; store: SealedArgumentsStore };
  },
): void {
  const { store, agents, worker, identify } = options;
  const sealEdit = sealEditedArguments({ lookup: agents.lookup, sealing: options.sealing });
  const now = options.now ?? (() => new Date());

  registerRoute(app, API_ROUTES.listApprovals, async ({ query }, context) => {
    const records = await store.listApprovals({
      limit: query.limit,
      tenant: principalOf(context).tenant,
      ...(query.status === "all" ? {} : { status: query.status }),
      ...(query.team === undefined ? {} : { routeTo: query.team }),
      ...(query.agent === undefined ? {} : { agent: query.agent }),
      ...(query.tool === undefined ? {} : { tool: query.tool }),
      ...(query.kind === undefined ? {} : { kind: query.kind }),
      ...(query.run === undefined ? {} : { runId: query.run }),
      ...(query.overdue === "true" || query.overdue === "1" ? { dueBy: now() } : {}),
    });
    const at = now();
    return context.json({ approvals: records.map((record) => presentApproval(record, at)) });
  });

  registerRoute(app, API_ROUTES.approvalMetrics, async (_input, context) => {
    return context.json(approvalMetrics(await store.approvalStats({ tenant: principalOf(context).tenant })));
  });

  /** The request the gate read to find its owner, or (a route mounted without the gate) read now. */
  const approvalOf = async (id: string, context: Context) => {
    const owned = context.get("ownedApproval");
    return owned?.approvalId === id ? owned : await store.getApproval(id);
  };

  registerRoute(app, API_ROUTES.getApproval, async ({ params }, context) => {
    const record = await approvalOf(params.id, context);
    if (!record) throw new KeelError("not_found", `no approval request "${params.id}"`);
    const view = foldApproval(await store.readEvents({ runId: record.runId }), record.approvalId);
    return context.json(presentApprovalDetail(record, view, now()));
  });

  registerRoute(app, API_ROUTES.decideApproval, async ({ params, body }, context) => {
    const approver = identify(context);
    if (!approver) {
      throw new KeelError(
        "unauthorized",
        "say who decides: set X-Keel-Subject (and X-Keel-Roles); with API keys configured, the key says it",
      );
    }
    const outcome = await decideApproval({
      store,
      approvalId: params.id,
      record: await approvalOf(params.id, context),
      input: {
        decision: body.decision,
        approver,
        ...(body.argumentsHash === undefined ? {} : { argumentsHash: body.argumentsHash }),
        ...(body.arguments === undefined ? {} : { arguments: body.arguments }),
        ...(body.comment ? { comment: body.comment } : {}),
        ...(body.resolution === undefined ? {} : { resolution: body.resolution }),
        ...(body.values === undefined ? {} : { values: body.values }),
      },
      checkArguments: (tool, args, agent) => {
        const parsed = agents.lookup(agent.name, agent.version)?.tools.get(tool)?.input.safeParse(args);
        return parsed === undefined || parsed.success ? null : describeZodIssues(parsed.error);
      },
      now,
      owner: "api",
      ...(worker ? { handOff: (lease, journal) => worker.adopt(lease, journal) } : {}),
      sealEdit,
      redactText: (text, agent) => {
        const guards = agents.lookup(agent.name, agent.version)?.guards;
        return redactText(text, redactionPolicyOf({ runId: "", guards }).output).text;
      },
    });
    return context.json({
      ...presentDecided(outcome.record, outcome.approval, now()),
      resumed: outcome.resumed,
      events: outcome.events.map((event) => ({ seq: event.seq, type: event.type })),
    });
  });

  registerRoute(app, API_ROUTES.promoteApproval, async ({ params }, context) => {
    const record = await approvalOf(params.id, context);
    if (!record) throw new KeelError("not_found", `no approval request "${params.id}"`);
    const view = foldApproval(await store.readEvents({ runId: record.runId }), record.approvalId);
    if (!view)
      throw new KeelError("not_found", `no approval request "${record.approvalId}" in run ${record.runId}`);
    return context.json({ case: caseFromResolution(view) });
  });
}
