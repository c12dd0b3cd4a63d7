import type { ModelMessage, TokenCounter } from "../models/index.ts";

/**
 * One answered turn of a session: the message that started its run, the tool calls its model made with their
 * results (assistant tool-call messages and tool messages, in order), and the run's answer. A turn is carried,
 * summarized or dropped whole.
 */
export type ThreadTurn = {
  turn: number;
  input: string;
  tools: readonly Extract<ModelMessage, { role: "assistant" | "tool" }>[];
  answer: string;
};

/** What the previous run of the session summarized, which this run builds on instead of summarizing again. */
export type PriorSummary = {
  summary: string;
  /** The latest turn the summary covers. */
  summarizedThrough: number;
  /** How many turns' content went into it (turns a summary call could not read were dropped instead). */
  turnsSummarized: number;
};

/** How the turns before a run fit its budget: which are carried, and which must be summarized or dropped. */
export type ThreadFit = {
  /** Turns carried word for word, oldest first. */
  carried: ThreadTurn[];
  /** Turns to fold into the summary (with `prior.summary`) by a model call; empty when no call is needed. */
  toSummarize: ThreadTurn[];
  /** The summary already made that is carried as it is (no call needed), or null. */
  summary: PriorSummary | null;
  tokensBefore: number;
};

/** The messages one turn contributes to a model's context. */
export function turnMessages(turn: ThreadTurn): ModelMessage[] {
  return [{ role: "user", content: turn.input }, ...turn.tools, { role: "assistant", content: turn.answer }];
}

/** The tokens the summary costs in the context: it rides with the system prompt under a heading. */
export function summaryTokens(counter: TokenCounter, summary: string): number {
  return counter.count(`${SUMMARY_HEADING}\n${summary}`);
}

/** The heading the summary of a session's older turns is shown under, after the system prompt. */
export const SUMMARY_HEADING = "Summary of the earlier conversation in this session:";

/**
 * Fit a session's earlier turns into `budget` tokens. Drop-oldest carries the latest turns that fit and leaves the
 * rest out. Summarize builds on the summary the previous run carried: turns after it are carried while they fit;
 * when they do not, all but the last `keepLastTurns` of them are handed to a summary call, and what still does not
 * fit after that is dropped, oldest first (the latest turns alone can exceed a small window).
 */
export function fitSessionThread(options: {
  turns: readonly ThreadTurn[];
  counter: TokenCounter;
  budget: number;
  strategy: "drop-oldest" | "summarize";
  keepLastTurns: number;
  prior: PriorSummary | null;
  /** What the summary a call writes may cost at most, in tokens: reserved when a call is planned. */
  summaryAllowance: number;
}): ThreadFit {
  const { counter, budget } = options;
  const costs = new Map(options.turns.map((turn) => [turn.turn, counter.countMessages(turnMessages(turn))]));
  const cost = (turns: readonly ThreadTurn[]) => turns.reduce((sum, turn) => sum + costs.get(turn.turn)!, 0);
  const tokensBefore = cost(options.turns);
  const latestThatFit = (turns: readonly ThreadTurn[], room: number) => {
    const kept: ThreadTurn[] = [];
    let used = 0;
    for (let index = turns.length - 1; index >= 0; index--) {
      const turn = turns[index]!;
      used += costs.get(turn.turn)!;
      if (used > room) break;
      kept.unshift(turn);
    }
    return kept;
  };

  if (options.strategy === "drop-oldest") {
    const carried = latestThatFit(options.turns, budget);
    return { carried, toSummarize: [], summary: null, tokensBefore };
  }

  const prior = options.prior;
  const after = options.turns.filter((turn) => turn.turn > (prior?.summarizedThrough ?? 0));
  const priorCost = prior ? summaryTokens(counter, prior.summary) : 0;
  if (priorCost + cost(after) <= budget) {
    return { carried: after, toSummarize: [], summary: prior, tokensBefore };
  }
  const keep = Math.min(options.keepLastTurns, after.length);
  const toSummarize = after.slice(0, after.length - keep);
  const room = budget - (toSummarize.length > 0 ? options.summaryAllowance : priorCost);
  const carried = latestThatFit(after.slice(after.length - keep), Math.max(0, room));
  return {
    carried,
    toSummarize,
    summary: toSummarize.length > 0 ? null : prior,
    tokensBefore,
  };
}

/** The heading the session's working memory is shown under, after the system prompt. */
export const WORKING_MEMORY_HEADING =
  "Working memory of this conversation (JSON; replace it with update_working_memory when something worth keeping changes):";

/**
 * The system prompt as a session's model reads it: the agent's, then the summary of older turns (if any), then the
 * working memory (for an agent that keeps one, `{}` until it is first written).
 */
export function sessionSystemPrompt(
  system: string,
  session: { summary: string | null; workingMemory?: Record<string, unknown> },
): string {
  const sections = [system];
  if (session.summary !== null && session.summary !== "")
    sections.push(`${SUMMARY_HEADING}\n${session.summary}`);
  if (session.workingMemory !== undefined) {
    sections.push(`${WORKING_MEMORY_HEADING}\n${JSON.stringify(session.workingMemory)}`);
  }
  return sections.filter((section) => section !== "").join("\n\n");
}
