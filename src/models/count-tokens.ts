import type { ModelMessage } from "./model-provider.ts";

/**
 * Counts a model's tokens: exactly for OpenAI models (their own BPE encodings, from `gpt-tokenizer`), and as an
 * estimate for every other family, whose tokenizers are not published as a library: o200k_base counts scaled up by
 * `APPROXIMATION_MARGIN`, so a thread fitted to the window by these counts stays inside it.
 */
export type TokenCounter = {
  /** The encoding counted with, as the journal names it (`o200k_base`, `o200k_base×1.25`). */
  encoding: string;
  /** True when the encoding is not the provider's own: the counts are estimates with a margin. */
  approximate: boolean;
  count(text: string): number;
  /** Tokens of messages as a chat request carries them, with each message's framing. */
  countMessages(messages: readonly ModelMessage[]): number;
};

/** How much an estimate is scaled up for a family whose tokenizer Keel cannot run (Anthropic, Gemini, others). */
export const APPROXIMATION_MARGIN = 1.25;

/** Framing tokens per chat message (role and separators), as OpenAI's chat format spends them. */
const TOKENS_PER_MESSAGE = 4;

type Encoding = "cl100k_base" | "o200k_base";

/**
 * An encoding's counting function, loaded the first time a thread is fitted: the encodings' tables take about a
 * second of CPU to load, which every `keel` command and server start would otherwise pay whether it counts or not.
 */
const encodings = new Map<Encoding, Promise<(text: string) => number>>();
function encodingCounter(encoding: Encoding): Promise<(text: string) => number> {
  let loading = encodings.get(encoding);
  if (!loading) {
    loading =
      encoding === "cl100k_base"
        ? import("gpt-tokenizer/encoding/cl100k_base").then((module) => module.countTokens)
        : import("gpt-tokenizer/encoding/o200k_base").then((module) => module.countTokens);
    encodings.set(encoding, loading);
  }
  return loading;
}

/** The token counter for a provider's model. */
export async function tokenCounterFor(provider: string, model: string): Promise<TokenCounter> {
  if (provider === "openai") {
    const legacy = /^gpt-(3\.5|4)(-\d|-turbo|$)/.test(model) && !model.startsWith("gpt-4o");
    const encoding = legacy ? "cl100k_base" : "o200k_base";
    return counter(encoding, await encodingCounter(encoding), 1);
  }
  return counter(
    `o200k_base×${APPROXIMATION_MARGIN}`,
    await encodingCounter("o200k_base"),
    APPROXIMATION_MARGIN,
  );
}

function counter(encoding: string, count: (text: string) => number, scale: number): TokenCounter {
  const approximate = scale !== 1;
  const tokens = (text: string) => Math.ceil(count(text) * scale);
  return {
    encoding,
    approximate,
    count: tokens,
    countMessages(messages) {
      let total = 0;
      for (const message of messages) {
        const content =
          typeof message.content === "string" ? message.content : JSON.stringify(message.content ?? null);
        total += TOKENS_PER_MESSAGE + tokens(content);
        if (message.role === "assistant" && message.toolCalls)
          total += tokens(JSON.stringify(message.toolCalls));
      }
      return total;
    },
  };
}

/**
 * Context windows (input and output together, in tokens) of the models Keel knows by id; a model not listed gets
 * `DEFAULT_CONTEXT_WINDOW` unless the spec's `context.maxTokens` says otherwise.
 */
const CONTEXT_WINDOWS: readonly [RegExp, number][] = [
  [/^gpt-4\.1/, 1_047_576],
  [/^gpt-5/, 400_000],
  [/^gpt-4o/, 128_000],
  [/^gpt-4-turbo/, 128_000],
  [/^gpt-4(-\d{4})?$/, 8_192],
  [/^gpt-3\.5-turbo/, 16_385],
  [/^o[134](-|$)/, 200_000],
  [/^claude-/, 200_000],
  [/^gemini-(1\.5|2\.0|2\.5)/, 1_048_576],
];

/** The window assumed for a model Keel does not know (offline stand-ins, self-hosted models). */
export const DEFAULT_CONTEXT_WINDOW = 32_768;

/** A model's context window in tokens, from its id; `DEFAULT_CONTEXT_WINDOW` when the id is not known. */
export function contextWindowOf(model: string): { tokens: number; known: boolean } {
  const id = model.replace(/^[a-z-]+\//, "");
  for (const [pattern, tokens] of CONTEXT_WINDOWS) if (pattern.test(id)) return { tokens, known: true };
  return { tokens: DEFAULT_CONTEXT_WINDOW, known: false };
}
