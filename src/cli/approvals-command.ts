import { parseArgs } from "node:util";
import type { CallInput } from "../client/index.ts";
import { KeelError } from "../errors/index.ts";
import { appendCase, EvalCase } from "../evals/index.ts";
import { type ApiClient, connectApiClient } from "./api-client.ts";
import type { CliIo } from "./cli-io.ts";
import { reportCliError, usageError } from "./report-cli-error.ts";

/** Usage of `keel approvals`, for `keel --help` and usage errors. */
export const APPROVALS_USAGE = `  approvals list [--status S|all] [--team T] [--agent A] [--tool X] [--kind K] [--overdue] [--json]
                                   the approval queue (pending, most urgent first, by default)
  approvals show <id> [--json]     one request: what the agent tried, why, the call, the run's context, decisions
  approvals approve <id> [--arguments JSON] [--form JSON] [--comment C]
                                   approve exactly the arguments shown (or edited ones); runs the held call once;
                                   a workflow's task is approved with its form filled in (--form)
  approvals reject <id> [--comment C]
  approvals resolve <id> --answer TEXT
                                   answer a handed-off run yourself; the answer becomes the run's answer
  approvals metrics [--json]       queue depth, time to decision, approval and draft edit rates
  approvals promote <id> --dataset F
                                   add a decided request to an eval dataset (source: escalation)
  decisions name you with --as S --roles R1,R2 (or KEEL_SUBJECT, KEEL_ROLES) until authentication is configured`;

const OPTIONS = {
  url: { type: "string" },
  "api-key-file": { type: "string" },
  json: { type: "boolean" },
  status: { type: "string" },
  team: { type: "string" },
  agent: { type: "string" },
  tool: { type: "string" },
  kind: { type: "string" },
  overdue: { type: "boolean" },
  limit: { type: "string" },
  arguments: { type: "string" },
  form: { type: "string" },
  comment: { type: "string" },
  answer: { type: "string" },
  as: { type: "string" },
  roles: { type: "string" },
  dataset: { type: "string" },
} as const;

/** `keel approvals …`: it parses its own flags. */
export async function approvalsCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    const [, sub, id] = positionals;
    const client = connectApiClient(io, values);
    switch (sub) {
      case "list":
        return await list(client, io, values);
      case "show":
        if (!id) throw usageError("keel approvals show <id>", APPROVALS_USAGE);
        return await show(client, io, id, values.json ?? false);
      case "approve":
      case "reject":
      case "resolve":
        if (!id) throw usageError(`keel approvals ${sub} <id>`, APPROVALS_USAGE);
        return await decideApproval(client, io, sub, id, values);
      case "metrics":
        return await metrics(client, io, values.json ?? false);
      case "promote": {
        if (!id || !values.dataset)
          throw usageError("keel approvals promote <id> --dataset F", APPROVALS_USAGE);
        const { case: promoted } = await client.call("promoteApproval", { params: { id } });
        const evalCase = EvalCase.parse(promoted);
        await appendCase(values.dataset, evalCase);
        io.out(`added case ${evalCase.id} to ${values.dataset}`);
        return 0;
      }
      default:
        throw usageError(
          sub === undefined ? "keel approvals needs a command" : `unknown command "approvals ${sub}"`,
          APPROVALS_USAGE,
        );
    }
  } catch (error) {
    return reportCliError(error, io, APPROVALS_USAGE);
  }
}

/** `keel approvals`' flags as parsed. */
export type ApprovalValues = {
  [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]["type"] extends "boolean" ? boolean : string;
};

async function list(client: ApiClient, io: CliIo, values: ApprovalValues): Promise<number> {
  const query: Record<string, string> = {};
  for (const key of ["status", "team", "agent", "tool", "kind", "limit"] as const) {
    const value = values[key];
    if (typeof value === "string") query[key] = value;
  }
  if (values.overdue) query.overdue = "true";
  // The server checks each field and names a bad one: the flags go as typed.
  const { approvals } = await client.call("listApprovals", {
    query: query as CallInput<"listApprovals">["query"],
  });
  if (values.json) {
    io.out(JSON.stringify(approvals, null, 2));
    return 0;
  }
  if (approvals.length === 0) {
    io.out("no approval requests match");
    return 0;
  }
  for (const approval of approvals) {
    const due =
      approval.status === "pending"
        ? `  due ${approval.expiresAt}${approval.overdue ? " (OVERDUE)" : ""}`
        : `  ${approval.status} by ${approval.decidedBy}`;
    const votes =
      approval.requiredApprovals > 1
        ? `  ${approval.approvers.length}/${approval.requiredApprovals} approvals`
        : "";
    io.out(
      `${approval.id}  ${approval.priority.padEnd(6)}  ${approval.routeTo}  ${approval.kind}${due}${votes}`,
    );
    io.out(`    ${approval.summary}`);
  }
  return 0;
}

async function show(client: ApiClient, io: CliIo, id: string, json: boolean): Promise<number> {
  const approval = await client.call("getApproval", { params: { id } });
  if (json) {
    io.out(JSON.stringify(approval, null, 2));
    return 0;
  }
  const lines = [
    `${approval.id}  ${approval.status}  ${approval.kind}  priority ${approval.priority}  queue ${approval.routeTo}`,
    `  ${approval.summary}`,
    `  why: ${approval.reasons.join("; ") || "(no reason given)"}${approval.policies.length > 0 ? `  [${approval.policies.join(", ")}]` : ""}`,
    ...(approval.tool
      ? [
          `  call: ${approval.tool} ${JSON.stringify(approval.arguments)}`,
          `  arguments hash: ${approval.argumentsHash}`,
        ]
      : []),
    ...(approval.form === undefined
      ? []
      : [`  form (approve with --form JSON matching it): ${JSON.stringify(approval.form)}`]),
    `  run: ${approval.runId} (${approval.agent}) for ${approval.context.principal.subject} (${approval.context.principal.tenant})`,
    `  input: ${approval.context.input}`,
    ...(approval.context.recent.length > 0
      ? ["  recent:", ...approval.context.recent.map((turn) => `    ${turn}`)]
      : []),
    `  requested ${approval.requestedAt} by ${approval.requestedBy}; due ${approval.expiresAt}${approval.overdue ? " (OVERDUE)" : ""}, then ${approval.onTimeout === "escalate" ? "escalated" : "denied"}`,
    `  needs ${approval.requiredApprovals} approver${approval.requiredApprovals > 1 ? "s" : ""} with a role in: ${approval.approverRoles.join(", ")}`,
    ...approval.decisions.map(
      (decision) =>
        `  ${decision.at}  ${decision.decision} by ${decision.by.subject}${decision.edited ? " (edited the arguments)" : ""}${decision.comment ? `: ${decision.comment}` : ""}`,
    ),
    ...approval.expiries.map(
      (expiry) =>
        `  ${expiry.at}  expired: ${expiry.outcome}${expiry.routeTo ? ` to ${expiry.routeTo}` : ""}`,
    ),
  ];
  for (const line of lines) io.out(line);
  return 0;
}

/** Decide an approval request as `--as`/`--roles` (or the API key) and print what happened. */
export async function decideApproval(
  client: ApiClient,
  io: CliIo,
  decision: "approve" | "reject" | "resolve",
  id: string,
  values: ApprovalValues,
): Promise<number> {
  // With an API key the key says who decides; without one (development mode) the command names the approver.
  const subject = values.as ?? io.env.KEEL_SUBJECT ?? (client.authenticated ? "your API key" : undefined);
  if (!subject)
    throw usageError(
      "say who decides: --as <you> (or KEEL_SUBJECT), with --roles (or KEEL_ROLES)",
      APPROVALS_USAGE,
    );
  const roles = values.roles ?? io.env.KEEL_ROLES ?? "";
  let edited: unknown;
  if (values.arguments !== undefined) {
    try {
      edited = JSON.parse(values.arguments);
    } catch {
      throw new KeelError(
        "invalid_request",
        '--arguments must be JSON, such as \'{"orderId":1017,"amount":"150.00"}\'',
      );
    }
  }
  let form: Record<string, unknown> | undefined;
  if (values.form !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(values.form);
    } catch {
      parsed = undefined;
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new KeelError(
        "invalid_request",
        '--form must be a JSON object, such as \'{"approved":true,"note":"ok"}\'',
        {
          issues: [{ path: "form", message: "expected a JSON object" }],
        },
      );
    }
    form = parsed as Record<string, unknown>;
  }
  if (decision === "resolve" && !values.answer)
    throw usageError("keel approvals resolve <id> --answer TEXT", APPROVALS_USAGE);
  // An approval binds to the hash of what the approver saw: fetch it now, so what is approved is what was shown.
  const shown = decision === "approve" ? await client.call("getApproval", { params: { id } }) : null;
  const result = await client.call("decideApproval", {
    params: { id },
    body: {
      decision,
      ...(shown?.argumentsHash ? { argumentsHash: shown.argumentsHash } : {}),
      ...(edited === undefined ? {} : { arguments: edited }),
      ...(form === undefined ? {} : { values: form }),
      ...(values.comment === undefined ? {} : { comment: values.comment }),
      ...(values.answer === undefined ? {} : { resolution: values.answer }),
    },
    headers: client.authenticated ? {} : { "x-keel-subject": subject, "x-keel-roles": roles },
  });
  if (values.json) io.out(JSON.stringify(result, null, 2));
  else if (result.resumed)
    io.out(
      `${result.id} ${result.status} by ${subject}; run ${result.runId} resumes${shown?.tool ? ` (${shown.tool} runs once with the approved arguments)` : ""}`,
    );
  else
    io.out(
      `${result.id}: approval by ${subject} recorded (${result.approvers.length} of ${result.requiredApprovals}); it needs another approver`,
    );
  return 0;
}

async function metrics(client: ApiClient, io: CliIo, json: boolean): Promise<number> {
  const data = await client.call("approvalMetrics");
  if (json) {
    io.out(JSON.stringify(data, null, 2));
    return 0;
  }
  io.out("queue depth:");
  if (data.queueDepth.length === 0) io.out("  (empty)");
  for (const route of data.queueDepth)
    io.out(`  ${route.routeTo}  ${route.pending} pending, ${route.overdue} overdue`);
  io.out("by agent and tool:");
  for (const entry of data.byAgentTool) {
    const rate = entry.approvalRate === null ? "–" : `${Math.round(entry.approvalRate * 100)}%`;
    const time = entry.meanDecisionSeconds === null ? "–" : `${Math.round(entry.meanDecisionSeconds)} s`;
    const edits =
      entry.draftEditRate === null ? "" : `, drafts edited ${Math.round(entry.draftEditRate * 100)}%`;
    io.out(
      `  ${entry.agent} ${entry.tool ?? "(handoff)"}: ${entry.pending} pending, approved ${rate}, mean time to decision ${time}${edits}`,
    );
  }
  return 0;
}
