import type { NewEvent } from "../journal/index.ts";
import type { NodeContext } from "./graph.ts";
import { guardSummary } from "./guard-input.ts";
import {
  describeClasses,
  injectionActions,
  inspectableText,
  inspectForInjection,
} from "./inspect-for-injection.ts";
import { requestApproval } from "./request-approval.ts";
import type { ToolCallState } from "./run-state.ts";

/**
 * Check a tool's result for prompt injection (indirect injection: a retrieved page, a ticket, an API reply) and
 * return the events to journal with it: nothing when it is clean; a `guard-flag` whose action the run state
 * applies (`block` withholds the result, so the model gets a tool error instead); under `review`, also the
 * approval request and `run-suspend` that hold the run for a person, who lets the result through or withholds it.
 */
export function guardToolResult(context: NodeContext, call: ToolCallState, result: unknown): NewEvent[] {
  const action = injectionActions(context.agent).toolResults;
  if (action === "off") return [];
  const finding = inspectForInjection({
    text: inspectableText(result, context.journal.state.input),
    action,
    where: { kind: "tool-result", tool: call.tool, callId: call.callId },
  });
  if (finding === null) return [];
  if (action !== "review") return [finding.event];
  return [
    finding.event,
    ...requestApproval(context, {
      kind: "guard",
      call,
      inspected: { summary: guardSummary(finding.event.payload), textHash: finding.textHash },
      reasons: [
        `the result of ${call.tool} reads as an attempt at ${describeClasses(finding.verdict.classes)} (score ${finding.verdict.score})`,
      ],
      policies: ["guards.toolResults.injection"],
    }),
  ];
}
