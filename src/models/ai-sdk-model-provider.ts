import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3StreamPart,
} from "@ai-sdk/provider";
import type { ToolCallRequest } from "../journal/index.ts";
import { convertToAiSdkPrompt, type PromptCaching } from "./convert-to-ai-sdk-prompt.ts";
import { mapAiSdkContent, mapFinishReason, toDecision, toToolCall } from "./map-ai-sdk-result.ts";
import { classifyModelError, ModelCallError } from "./model-call-error.ts";
import type {
  FinishReason,
  GenerateOptions,
  ModelProvider,
  ModelStreamPart,
  ModelTurn,
} from "./model-provider.ts";
import { normaliseUsage } from "./normalise-usage.ts";

/** How an adapter asks its provider to cache prompts, given the call's cache key. */
export type CachingStyle = (promptCacheKey: string | undefined) => PromptCaching;

/**
 * A ModelProvider over any AI SDK language model (the Vercel provider packages speak the wire protocols):
 * Keel's conversation in, a decision and normalised usage out, every failure classified for the gateway.
 */
export function createAiSdkModelProvider(options: {
  provider: string;
  model: LanguageModelV3;
  caching: CachingStyle;
}): ModelProvider {
  const { model } = options;
  const callOptions = (request: GenerateOptions): LanguageModelV3CallOptions => {
    const { prompt, tools, providerOptions } = convertToAiSdkPrompt({
      system: request.system,
      messages: request.messages,
      tools: request.tools,
      caching: request.promptCaching === false ? { kind: "none" } : options.caching(request.promptCacheKey),
    });
    return {
      prompt,
      ...(tools.length > 0 ? { tools, toolChoice: { type: "auto" } } : {}),
      ...(request.params.temperature === undefined ? {} : { temperature: request.params.temperature }),
      ...(request.params.maxOutputTokens === undefined
        ? {}
        : { maxOutputTokens: request.params.maxOutputTokens }),
      ...(request.params.topP === undefined ? {} : { topP: request.params.topP }),
      providerOptions,
      abortSignal: request.signal,
    };
  };
  return {
    provider: options.provider,
    model: model.modelId,
    offline: false,
    async generate(request) {
      let result: Awaited<ReturnType<LanguageModelV3["doGenerate"]>>;
      try {
        result = await model.doGenerate(callOptions(request));
      } catch (error) {
        throw classifyModelError(error);
      }
      const finishReason = mapFinishReason(result.finishReason);
      const decision = mapAiSdkContent(result.content);
      refuseIfFiltered(finishReason, decision.kind === "answer" ? decision.text : "x");
      return { decision, usage: normaliseUsage(result.usage), finishReason };
    },
    stream(request) {
      return streamTurn(model, callOptions(request));
    },
  };
}

async function* streamTurn(
  model: LanguageModelV3,
  options: LanguageModelV3CallOptions,
): AsyncGenerator<ModelStreamPart> {
  let reader: ReturnType<ReadableStream<LanguageModelV3StreamPart>["getReader"]>;
  try {
    reader = (await model.doStream(options)).stream.getReader();
  } catch (error) {
    throw classifyModelError(error);
  }
  let text = "";
  const calls: ToolCallRequest[] = [];
  try {
    for (;;) {
      let next: Awaited<ReturnType<typeof reader.read>>;
      try {
        next = await reader.read();
      } catch (error) {
        throw classifyModelError(error);
      }
      if (next.done) break;
      const part = next.value;
      switch (part.type) {
        case "text-delta":
          if (part.delta.length === 0) break;
          text += part.delta;
          yield { type: "text-delta", text: part.delta };
          break;
        case "tool-call": {
          const call = toToolCall(part);
          calls.push(call);
          yield { type: "tool-call", call };
          break;
        }
        case "error":
          throw classifyModelError(part.error);
        case "finish": {
          const finishReason = mapFinishReason(part.finishReason);
          if (finishReason === "error") {
            throw new ModelCallError("unavailable", "the provider's stream ended with an error");
          }
          refuseIfFiltered(finishReason, text || (calls.length > 0 ? "x" : ""));
          const turn: ModelTurn = {
            decision: toDecision(text, calls),
            usage: normaliseUsage(part.usage),
            finishReason,
          };
          yield { type: "finish", turn };
          return;
        }
        default:
          break;
      }
    }
  } finally {
    reader.releaseLock();
  }
  throw new ModelCallError("unavailable", "the provider's stream ended before it finished the turn");
}

/** A turn stopped by the provider's content filter with nothing to show is a refusal the gateway can route on. */
function refuseIfFiltered(finishReason: FinishReason, content: string): void {
  if (finishReason === "content-filter" && content.length === 0) {
    throw new ModelCallError("content_refused", "the provider refused to answer (content filter)");
  }
}
