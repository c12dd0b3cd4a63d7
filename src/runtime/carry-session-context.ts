import type { CarriedMessage, NewEvent, PayloadOf } from "../journal/index.ts";
import {
  contextWindowOf,
  type GenerateOptions,
  SUMMARIZE_SYSTEM_PROMPT,
  type TokenCounter,
  tokenCounterFor,
} from "../models/index.ts";
import type { SessionQueries } from "../store/index.ts";
import { toolInputJsonSchema } from "../tools/index.ts";
import { governedModelCall } from "./call-model.ts";
import { toolMessagesByTurn } from "./carried-tool-messages.ts";
import {
  fitSessionThread,
  type PriorSummary,
  summaryTokens,
  type ThreadTurn,
  turnMessages,
  WORKING_MEMORY_HEADING,
} from "./fit-session-thread.ts";
import type { NodeContext } from "./graph.ts";

/** Output allowance assumed for the run's answer when the spec sets no maxOutputTokens. */
const DEFAULT_OUTPUT_ALLOWANCE = 4_096;
/**
 * The longest summary a summary call is asked for, in tokens; less when a quarter of the thread's budget or the
 * run's answer allowance is less.
 */
const MAX_SUMMARY_TOKENS = 1_024;

/**
 * Before a session's run first asks its model, carry the session's earlier turns into its context as the agent's
 * context policy allows, and journal what was carried (`context-carry`) before the model reads it. With
 * `summarize`, turns that no longer fit are folded into a summary by a model call made like every other (routed,
 * budgeted, decided by the governor, phase `context_summary`), journaled with the `context-carry` it produced.
 * Returns true when the run ended or paused here (the summary call was refused or failed).
 */
export async function carrySessionContext(context: NodeContext): Promise<boolean> {
  const { journal, agent } = context;
  const state = journal.state;
  if (!state.session || state.carried !== null) return false;
  if (!context.sessions) throw new Error("a session's run needs the session store to read its earlier turns");
  const { sessionId, turn } = state.session;
  const before = await context.sessions.sessionTurns(sessionId, { beforeTurn: turn });
  const tools = toolMessagesByTurn(await context.sessions.sessionToolEvents(sessionId, { beforeTurn: turn }));
  const turns: ThreadTurn[] = before.flatMap((each) =>
    each.answer !== null
      ? [{ turn: each.turn, input: each.input, tools: tools.get(each.turn) ?? [], answer: each.answer }]
      : [],
  );
  const policy = agent.context ?? { strategy: "drop-oldest" as const, keepLastTurns: 4 };
  const counter = await tokenCounterFor(agent.provider.provider, agent.provider.model);
  const maxTokens = policy.maxTokens ?? contextWindowOf(agent.provider.model).tokens;
  const workingMemory = agent.workingMemory
    ? await context.sessions.workingMemoryOf(sessionId, { beforeTurn: turn })
    : null;
  const reservedTokens =
    reservedFor(context, counter) +
    (agent.workingMemory
      ? counter.count(`${WORKING_MEMORY_HEADING}\n${JSON.stringify(workingMemory ?? {})}`)
      : 0);
  const budget = Math.max(0, maxTokens - reservedTokens);
  const prior = policy.strategy === "summarize" ? await priorSummary(context.sessions, before) : null;
  // No longer than the run's own answer may be: the reserve that is kept for it also leaves room for the summary
  // call to read every turn it folds in (they fitted the budget one turn ago).
  const summaryAllowance = Math.max(
    1,
    Math.min(
      MAX_SUMMARY_TOKENS,
      Math.floor(budget / 4),
      agent.params.maxOutputTokens ?? DEFAULT_OUTPUT_ALLOWANCE,
    ),
  );
  const fit = fitSessionThread({
    turns,
    counter,
    budget,
    strategy: policy.strategy,
    keepLastTurns: policy.keepLastTurns,
    prior,
    summaryAllowance,
  });

  let summary: PriorSummary | null = fit.summary;
  let carried = fit.carried;
  const served: NewEvent[] = [];
  if (fit.toSummarize.length > 0) {
    // A summary call reads the summary so far and the turns it folds in, within the model's window less the
    // summary's allowance: as many of the latest as fit; older ones that do not are dropped.
    const room =
      maxTokens -
      summaryAllowance -
      counter.count(SUMMARIZE_SYSTEM_PROMPT) -
      (prior ? summaryTokens(counter, prior.summary) : 0);
    const folded = latestWithin(fit.toSummarize, counter, room);
    const step = state.modelCallOpen ? state.step : state.step + 1;
    const call = await governedModelCall(context, {
      step,
      phase: "context_summary",
      request: summaryRequest(context, prior, folded, summaryAllowance),
      provider: agent.provider,
      callKey: `context-summary-${turn}`,
      start: state.modelCallOpen ? [] : [{ type: "step-start", payload: { step, node: "context" } }],
    });
    if (call.kind === "ended") return true;
    const text = call.turn.decision.kind === "answer" ? call.turn.decision.text.trim() : "";
    summary = {
      summary: text,
      summarizedThrough: fit.toSummarize.at(-1)!.turn,
      turnsSummarized: (prior?.turnsSummarized ?? 0) + folded.length,
    };
    served.push(...call.events);
    // A summary longer than it was asked to be still has to fit: the oldest carried turns give way.
    const left = budget - summaryTokens(counter, summary.summary);
    while (carried.length > 0 && tokensOf(carried, counter) > left) carried = carried.slice(1);
  }
  const summarized = summary?.turnsSummarized ?? 0;
  const carry: PayloadOf<"context-carry"> = {
    sessionId,
    turn,
    strategy: policy.strategy,
    window: { maxTokens, reservedTokens, encoding: counter.encoding, approximate: counter.approximate },
    turnsBefore: turns.length,
    turnsCarried: carried.length,
    turnsSummarized: summarized,
    // Whatever is neither carried nor in the summary: left out, oldest first.
    turnsDropped: turns.length - carried.length - summarized,
    tokensBefore: fit.tokensBefore,
    tokensCarried: tokensOf(carried, counter) + (summary ? summaryTokens(counter, summary.summary) : 0),
    ...(summary ? { summary: summary.summary, summarizedThrough: summary.summarizedThrough } : {}),
    ...(workingMemory ? { workingMemory } : {}),
    messages: carried.flatMap((each) =>
      turnMessages(each).map(
        (message): CarriedMessage => ({ ...message, turn: each.turn }) as CarriedMessage,
      ),
    ),
  };
  const event: NewEvent = { type: "context-carry", payload: carry };
  // With a summary call, its record and what it produced are durable together; otherwise the carry rides on the
  // model call's first commit, and a crash before it carries the same again (the earlier turns have all ended).
  if (served.length > 0) await journal.commit(...served, event);
  else journal.stage(event);
  return false;
}

/** Tokens kept free of the thread: the system prompt, the tool schemas, this run's input and the answer. */
function reservedFor({ agent, journal }: NodeContext, counter: TokenCounter): number {
  const tools = [...agent.tools.values()].map((tool) => ({
    name: tool.name,
    description: tool.description,
    inputSchema: toolInputJsonSchema(tool),
  }));
  return (
    counter.count(agent.system) +
    (tools.length > 0 ? counter.count(JSON.stringify(tools)) : 0) +
    counter.countMessages([{ role: "user", content: journal.state.input }]) +
    (agent.params.maxOutputTokens ?? DEFAULT_OUTPUT_ALLOWANCE)
  );
}

/** The summary the session's latest earlier run carried, which this run builds on. */
async function priorSummary(
  sessions: SessionQueries,
  before: readonly { runId: string }[],
): Promise<PriorSummary | null> {
  for (let index = before.length - 1; index >= 0; index--) {
    const carry = await sessions.contextCarryOf(before[index]!.runId);
    if (!carry) continue;
    return carry.summary !== undefined && carry.summarizedThrough !== undefined
      ? {
          summary: carry.summary,
          summarizedThrough: carry.summarizedThrough,
          turnsSummarized: carry.turnsSummarized,
        }
      : null;
  }
  return null;
}

function summaryRequest(
  { agent, signal }: NodeContext,
  prior: PriorSummary | null,
  turns: readonly ThreadTurn[],
  maxOutputTokens: number,
): GenerateOptions {
  const transcript = turns.map(transcriptOf).join("\n\n");
  const content = `${prior ? `Summary so far:\n${prior.summary}\n\n` : ""}Conversation to fold into the summary:\n${transcript}`;
  return {
    system: SUMMARIZE_SYSTEM_PROMPT,
    messages: [{ role: "user", content }],
    tools: [],
    params: { ...agent.params, maxOutputTokens },
    signal,
  };
}

/** One turn as a summary call reads it: the user's message, each tool call and its result, the answer. */
function transcriptOf(turn: ThreadTurn): string {
  const lines = [`User: ${turn.input}`];
  for (const message of turn.tools) {
    if (message.role === "assistant") {
      if (message.content !== "") lines.push(`Assistant: ${message.content}`);
      for (const call of message.toolCalls ?? [])
        lines.push(`Assistant called ${call.tool} with ${JSON.stringify(call.arguments)}`);
    } else {
      lines.push(
        `${message.tool} ${message.isError ? "failed" : "returned"}: ${JSON.stringify(message.content)}`,
      );
    }
  }
  lines.push(`Assistant: ${turn.answer}`);
  return lines.join("\n");
}

function tokensOf(turns: readonly ThreadTurn[], counter: TokenCounter): number {
  return turns.reduce((sum, each) => sum + counter.countMessages(turnMessages(each)), 0);
}

function latestWithin(turns: readonly ThreadTurn[], counter: TokenCounter, room: number): ThreadTurn[] {
  const kept: ThreadTurn[] = [];
  let used = 0;
  for (let index = turns.length - 1; index >= 0; index--) {
    used += counter.countMessages(turnMessages(turns[index]!));
    if (used > room) break;
    kept.unshift(turns[index]!);
  }
  return kept;
}
