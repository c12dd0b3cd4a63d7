import type { Hono } from "hono";
import { z } from "zod";
import { approvalMetrics } from "../approvals/approval-metrics.ts";
import { foldApproval } from "../approvals/approval-view.ts";
import { decideApproval } from "../approvals/decide-approval.ts";
import { caseFromResolution } from "../approvals/promote-resolution.ts";
import { KeelError } from "../errors/keel-error.ts";
import { type PayloadSealer, redactText } from "../guards/index.ts";
import type { AgentCatalog } from "../runtime/agent-catalog.ts";
import { redactionPolicyOf } from "../runtime/protect-events.ts";
import { sealEditedArguments } from "../runtime/seal-edited-arguments.ts";
import type { Worker } from "../runtime/worker.ts";
import type { SealedArgumentsStore } from "../store/sealed-arguments.ts";
import type { Store } from "../store/store.ts";
import { describeZodIssues } from "../tools/execute-tool-call.ts";
import type { IdentifyApprover } from "./approval-principal.ts";
import { parseBody } from "./parse-body.ts";
import { presentApproval, presentApprovalDetail, presentDecided } from "./present-approval.ts";
import { principalOf } from "./request-principal.ts";

const Status = z.enum(["pending", "approved", "rejected", "expired", "resolved", "withdrawn", "all"]);

const ListQuery = z.strictObject({
  status: Status.default("pending"),
  team: z.string().min(1).optional(),
  agent: z.string().min(1).optional(),
  tool: z.string().min(1).optional(),
  kind: z.enum(["tool-call", "draft", "handoff", "guard"]).optional(),
  run: z.string().min(1).optional(),
  overdue: z.enum(["true", "false"]).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const DecisionBody = z.strictObject({
  decision: z.enum(["approve", "reject", "resolve"]),
  argumentsHash: z
    .string()
    .regex(/^[0-9a-f]{64}$/, "expected the 64-hex-digit hash shown with the request")
    .optional(),
  arguments: z.unknown().optional(),
  comment: z.string().trim().max(2_000).optional(),
  resolution: z.string().trim().min(1).max(20_000).optional(),
});

/**
 * The approvals inbox over HTTP: `GET /v1/approvals` (the queue, filtered), `GET /v1/approvals/metrics`,
 * `GET /v1/approvals/{id}`, `POST /v1/approvals/{id}/decision` and `POST /v1/approvals/{id}/promote` (a decided
 * request as an eval case). Decisions name their approver through `identify` (headers until authentication lands).
 */
export function registerApprovalRoutes(
  app: Hono,
  options: {
    store: Store;
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

  app.get("/v1/approvals", async (context) => {
    const parsed = ListQuery.safeParse(context.req.query());
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => ({
        path: issue.path.join("."),
        message: issue.message,
      }));
      throw new KeelError(
        "invalid_request",
        `invalid query: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`,
        {
          issues,
        },
      );
    }
    const query = parsed.data;
    const records = await store.listApprovals({
      limit: query.limit,
      tenant: principalOf(context).tenant,
      ...(query.status === "all" ? {} : { status: query.status }),
      ...(query.team === undefined ? {} : { routeTo: query.team }),
      ...(query.agent === undefined ? {} : { agent: query.agent }),
      ...(query.tool === undefined ? {} : { tool: query.tool }),
      ...(query.kind === undefined ? {} : { kind: query.kind }),
      ...(query.run === undefined ? {} : { runId: query.run }),
      ...(query.overdue === "true" ? { dueBy: now() } : {}),
    });
    const at = now();
    return context.json({ approvals: records.map((record) => presentApproval(record, at)) });
  });

  app.get("/v1/approvals/metrics", async (context) => {
    return context.json(approvalMetrics(await store.approvalStats({ tenant: principalOf(context).tenant })));
  });

  app.get("/v1/approvals/:id", async (context) => {
    const record = await store.getApproval(context.req.param("id"));
    if (!record) throw new KeelError("not_found", `no approval request "${context.req.param("id")}"`);
    const view = foldApproval(await store.readEvents({ runId: record.runId }), record.approvalId);
    return context.json(presentApprovalDetail(record, view, now()));
  });

  app.post("/v1/approvals/:id/decision", async (context) => {
    const approver = identify(context);
    if (!approver) {
      throw new KeelError(
        "unauthorized",
        "say who decides: set X-Keel-Subject (and X-Keel-Roles); with API keys configured, the key says it",
      );
    }
    const body = await parseBody(context, DecisionBody);
    const outcome = await decideApproval({
      store,
      approvalId: context.req.param("id"),
      input: {
        decision: body.decision,
        approver,
        ...(body.argumentsHash === undefined ? {} : { argumentsHash: body.argumentsHash }),
        ...(body.arguments === undefined ? {} : { arguments: body.arguments }),
        ...(body.comment ? { comment: body.comment } : {}),
        ...(body.resolution === undefined ? {} : { resolution: body.resolution }),
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

  app.post("/v1/approvals/:id/promote", async (context) => {
    const record = await store.getApproval(context.req.param("id"));
    if (!record) throw new KeelError("not_found", `no approval request "${context.req.param("id")}"`);
    const view = foldApproval(await store.readEvents({ runId: record.runId }), record.approvalId);
    if (!view)
      throw new KeelError("not_found", `no approval request "${record.approvalId}" in run ${record.runId}`);
    return context.json({ case: caseFromResolution(view) });
  });
}
