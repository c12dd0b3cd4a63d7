import type { GenerateOptions, ModelTurn } from "./model-provider.ts";

/**
 * The instructions of a call that summarizes a session's older turns (the runtime's context policy makes it). The
 * offline stand-ins recognise it and answer with an extractive summary, so sessions can be summarized offline.
 */
export const SUMMARIZE_SYSTEM_PROMPT =
  "You summarize a conversation between a user and an assistant so it can continue without its older turns. Keep facts, names, numbers, decisions, commitments, open questions and the user's preferences; drop small talk. Answer with the summary only.";

/** Characters per token assumed when an extractive summary is cut to its token allowance. */
const CHARACTERS_PER_TOKEN = 3;

/**
 * An offline stand-in's answer to a summary call: the summary so far, then what the user said in each turn folded
 * in, each cut short, the latest kept when the allowance runs out. Extractive, not a model's summary: labelled so.
 */
export function offlineSummary(request: GenerateOptions): ModelTurn | null {
  if (request.system !== SUMMARIZE_SYSTEM_PROMPT) return null;
  const text = String(request.messages.at(-1)?.content ?? "");
  const [before, conversation = ""] = text.split("Conversation to fold into the summary:\n");
  const prior = before?.startsWith("Summary so far:\n")
    ? before.slice("Summary so far:\n".length).trim()
    : "";
  const said = [...conversation.matchAll(/^User: (.*)$/gm)].map((match) => clip(match[1]!, 160));
  const budget = (request.params.maxOutputTokens ?? 1_024) * CHARACTERS_PER_TOKEN;
  const head = "(offline extractive summary) The user said: ";
  let kept: string[] = [];
  for (const line of [...(prior ? [prior.replace(head, "")] : []), ...said].reverse()) {
    if (head.length + [line, ...kept].join(" | ").length > budget) break;
    kept = [line, ...kept];
  }
  return {
    decision: { kind: "answer", text: `${head}${kept.join(" | ")}` },
    usage: { inputTokens: 0, outputTokens: 0 },
  };
}

function clip(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}
