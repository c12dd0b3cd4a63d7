import type { NewEvent } from "../journal/index.ts";
import type { NodeContext } from "./graph.ts";
import { guardSummary } from "./guard-input.ts";
import {
  describeClasses,
  type InjectionFinding,
  injectionActions,
  inspectableText,
  inspectForInjection,
} from "./inspect-for-injection.ts";
import { requestApproval } from "./request-approval.ts";
import type { ToolCallState } from "./run-state.ts";

/**
 * Inspect a tool's result for prompt injection (indirect injection: a retrieved page, a ticket, an API reply) with
 * the agent's detectors; null when the check is off or nothing was found. Asked before the result is staged, so a
 * model detector's call never sits between the result and the events that go with it.
 */
export async function inspectToolResult(
  context: NodeContext,
  call: ToolCallState,
  result: unknown,
): Promise<InjectionFinding | null> {
  const action = injectionActions(context.agent).toolResults;
  if (action === "off") return null;
  return await inspectForInjection({
    agent: context.agent,
    text: inspectableText(result, context.journal.state.input),
    action,
    where: { kind: "tool-result", tool: call.tool, callId: call.callId },
    signal: context.signal,
  });
}

/**
 * The events to journal with a tool's result for what {@link inspectToolResult} found: nothing when it is clean; a
 * `guard-flag` whose action the run state applies (`block` withholds the result, so the model gets a tool error
 * instead; `flag` lets it through and taints the run's context); under `review`, also the approval request and
 * `run-suspend` that hold the run for a person, who lets the result through or withholds it.
 */
export function guardToolResult(
  context: NodeContext,
  call: ToolCallState,
  finding: InjectionFinding | null,
): NewEvent[] {
  if (finding === null) return [];
  if (finding.event.payload.action !== "review") return [finding.event];
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
