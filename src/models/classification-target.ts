import { classifyModelError, ModelCallError, type ModelErrorClass } from "./model-call-error.ts";
import { sharedNodeHttpFetch } from "./node-http-fetch.ts";

/**
 * The wire formats of text-classification servers Keel speaks:
 * - `openai-classify`: vLLM's `POST /classify` (SGLang serves the same at `/v1/classify`): `{model, input: [texts]}`
 *   answered with `{data: [{index, label, probs, num_classes}], usage: {prompt_tokens}}`;
 * - `hf-text-classification`: the Hugging Face text-classification task (Inference Endpoints, text-embeddings-
 *   inference's `/predict`): `{inputs: text}` answered with `[{label, score}]` (or that list nested in another).
 */
export type ClassificationWire = "openai-classify" | "hf-text-classification";

/**
 * One text's answer: the labels the server scored (all of them, or only the top one) and how many classes the model
 * has when the server says (vLLM does). Which label means "injection" is the caller's to say.
 */
export type ClassificationScore = { labels: { label: string; score: number }[]; classes: number | null };

/** A classification request's answer: a score per text, in order, and the tokens the server billed (if it says). */
export type ClassificationBatch = { scores: ClassificationScore[]; tokens: number | null };

/** A classification model's API. */
export type ClassificationAdapter = {
  readonly provider: string;
  readonly model: string;
  classify(texts: readonly string[], signal: AbortSignal): Promise<ClassificationBatch>;
};

/** A classification model the gateway can call: its adapter and credential, as a model target has. */
export type ClassificationTarget = {
  readonly adapter: ClassificationAdapter;
  /** The credential's environment variable name (never the key), or the server: part of the breaker's identity. */
  readonly keyId: string;
  /** Self-hosted classifiers cost nothing; their tokens still count. */
  readonly selfHosted?: boolean;
  readonly on?: readonly ModelErrorClass[];
};

/**
 * A classification model behind one of the wire formats: `huggingface` speaks the Hugging Face task at `baseUrl`
 * itself; any other provider (vllm, sglang) speaks the `/classify` API under `baseUrl`.
 */
export function createClassificationAdapter(options: {
  provider: string;
  model: string;
  /** vLLM `http://host:8000` (posts to `/classify`), SGLang `http://host:30000/v1`, a Hugging Face endpoint's URL. */
  baseUrl: string;
  apiKey?: string;
  fetch?: typeof globalThis.fetch;
}): ClassificationAdapter {
  const fetch = options.fetch ?? sharedNodeHttpFetch();
  const name = `${options.provider}/${options.model}`;
  const base = options.baseUrl.replace(/\/+$/, "");
  const wire: ClassificationWire =
    options.provider === "huggingface" ? "hf-text-classification" : "openai-classify";
  const post = async (url: string, body: unknown, signal: AbortSignal): Promise<unknown> => {
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(options.apiKey === undefined ? {} : { authorization: `Bearer ${options.apiKey}` }),
        },
        body: JSON.stringify(body),
        signal,
      });
    } catch (error) {
      const classified = classifyModelError(error);
      if (classified.errorClass === "cancelled" || classified.errorClass === "timeout") throw classified;
      throw new ModelCallError("unavailable", `could not reach ${name} at ${url}: ${classified.message}`, {
        cause: error,
      });
    }
    const text = await response.text();
    if (!response.ok) throw statusError(name, response.status, text);
    try {
      return JSON.parse(text);
    } catch {
      throw new ModelCallError("malformed_response", `${name} answered with text that is not JSON`);
    }
  };
  return {
    provider: options.provider,
    model: options.model,
    async classify(texts, signal) {
      if (wire === "openai-classify") {
        const body = await post(`${base}/classify`, { model: options.model, input: [...texts] }, signal);
        return readOpenAIClassify(name, body, texts.length);
      }
      // The task takes one text a request; texts are sent one after another.
      const scores: ClassificationScore[] = [];
      for (const text of texts)
        scores.push(readHuggingFace(name, await post(base, { inputs: text }, signal)));
      return { scores, tokens: null };
    },
  };
}

/** vLLM's answer: a probability vector per text with the top label named (the others' names are the model's). */
export function readOpenAIClassify(name: string, body: unknown, count: number): ClassificationBatch {
  const data = (body as { data?: unknown } | null)?.data;
  if (!Array.isArray(data) || data.length !== count) {
    throw new ModelCallError(
      "malformed_response",
      `${name} returned ${Array.isArray(data) ? data.length : "no"} classifications for ${count} texts`,
    );
  }
  const scores = data.map((item: unknown, index): ClassificationScore => {
    const { label, probs } = (item ?? {}) as { label?: unknown; probs?: unknown };
    if (
      typeof label !== "string" ||
      !Array.isArray(probs) ||
      probs.length === 0 ||
      !probs.every(isProbability)
    ) {
      throw new ModelCallError(
        "malformed_response",
        `${name}'s classification ${index} has no label and probabilities`,
      );
    }
    return { labels: [{ label, score: Math.max(...(probs as number[])) }], classes: probs.length };
  });
  const usage = (body as { usage?: { prompt_tokens?: unknown } }).usage;
  return { scores, tokens: typeof usage?.prompt_tokens === "number" ? usage.prompt_tokens : null };
}

/** The Hugging Face task's answer: `[{label, score}]`, or the same list inside another (one per input). */
export function readHuggingFace(name: string, body: unknown): ClassificationScore {
  const list = Array.isArray(body) && Array.isArray(body[0]) ? body[0] : body;
  if (!Array.isArray(list) || list.length === 0) {
    throw new ModelCallError("malformed_response", `${name} did not answer with a list of labels and scores`);
  }
  const labels = list.map((item: unknown) => {
    const { label, score } = (item ?? {}) as { label?: unknown; score?: unknown };
    if (typeof label !== "string" || !isProbability(score)) {
      throw new ModelCallError(
        "malformed_response",
        `${name} answered with an entry that is not {label, score}`,
      );
    }
    return { label, score };
  });
  return { labels, classes: null };
}

/**
 * The probability that a text carries `positive`: its score when the server gave it; for a two-class model whose
 * answer names only the other label (a top-1 answer), one minus that label's score. Null when it cannot be known.
 */
export function positiveScore(answer: ClassificationScore, positive: string): number | null {
  const found = answer.labels.find((entry) => entry.label === positive);
  if (found) return found.score;
  const [only] = answer.labels;
  if (answer.labels.length === 1 && only && (answer.classes === null || answer.classes === 2))
    return 1 - only.score;
  return null;
}

function isProbability(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 && value <= 1;
}

function statusError(name: string, status: number, body: string): ModelCallError {
  const say = (text: string) => `${name} ${text} (HTTP ${status}): ${body.slice(0, 200)}`;
  if (status === 429) return new ModelCallError("rate_limited", say("is rate limited"));
  if (status === 408) return new ModelCallError("timeout", say("timed out"));
  if (status === 401 || status === 403) return new ModelCallError("auth", say("refused the key"));
  if (status === 404) return new ModelCallError("configuration", say("has no such model or endpoint"));
  if (status >= 500) return new ModelCallError("unavailable", say("is unavailable"));
  return new ModelCallError("invalid_request", say("refused the request"));
}
