import { z } from "zod";
import { durationSchema } from "./duration.ts";

/**
 * What happens when the injection detector finds an attack: `block` stops it (the input is refused, the tool
 * result is withheld from the model), `review` holds the run for a person, `flag` journals the finding and
 * carries on, `off` skips the check.
 */
const InjectionAction = z
  .enum(["block", "review", "flag", "off"])
  .describe(
    "block: refuse it; review: hold the run for a person; flag: journal and carry on; off: no check.",
  );

/** The kinds of sensitive data the redactor knows: personal data, and credentials and keys. */
const RedactionClass = z
  .enum(["pii", "secrets"])
  .describe("pii: personal data (emails, phones, ids, cards, addresses…); secrets: keys, tokens, passwords.");

const RedactionClasses = z.array(RedactionClass).max(2);

const DetectorTimeout = durationSchema({
  units: ["ms", "s"],
  examples: "800ms or 5s",
  title: "DetectorTimeout",
});

/** Where a model-based detector is served: a provider, a pinned model id, and its server and key. */
const DetectorModel = {
  id: z.string().min(1).describe("The pinned model id."),
  baseUrl: z.string().url().optional().describe("The server's base URL (required for classifiers)."),
  keyEnv: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/, "expected an environment variable name such as HF_TOKEN")
    .optional()
    .describe("Environment variable holding the server's key, when it needs one (never the key itself)."),
  selfHosted: z.boolean().optional().describe("Price its calls at 0 (tokens still count)."),
  timeout: DetectorTimeout.default(5_000).describe("The most one inspection may take, retries included."),
};

/**
 * A text-classification model serving a prompt-injection classifier: `huggingface` speaks the Hugging Face
 * text-classification task at `baseUrl`; any other provider (vllm, sglang) speaks the `/classify` API under it.
 */
const ClassifierDetector = z.strictObject({
  kind: z.literal("classifier").describe("A text-classification model."),
  provider: z
    .string()
    .min(1)
    .describe("huggingface, or vllm, sglang or another server with the /classify API."),
  ...DetectorModel,
  baseUrl: z.string().url().describe("The server: vLLM's root, SGLang's /v1, a Hugging Face endpoint's URL."),
  positiveLabel: z
    .string()
    .min(1)
    .default("INJECTION")
    .describe("The label that means an injection (INJECTION, LABEL_1, …)."),
  threshold: z
    .number()
    .gt(0)
    .max(1)
    .default(0.9)
    .describe("The positive label's probability that flags a text."),
});

/** An LLM asked, with Keel's fixed rubric, for a strict JSON verdict on whether a text is a prompt injection. */
const JudgeDetector = z.strictObject({
  kind: z.literal("judge").describe("An LLM asked with Keel's fixed rubric."),
  provider: z
    .string()
    .min(1)
    .describe("anthropic, openai, google, or an OpenAI-compatible server (with baseUrl)."),
  ...DetectorModel,
  threshold: z
    .number()
    .gt(0)
    .max(1)
    .default(0.5)
    .describe("The judge's injection probability that flags a text."),
});

/** A model-based injection detector beside the built-in rules (docs/security.md). */
const InjectionDetector = z.discriminatedUnion("kind", [ClassifierDetector, JudgeDetector]);

/** Prompt-injection and redaction guards on what enters and leaves an agent (docs/security.md). */
export const GuardsSection = z
  .strictObject({
    input: z
      .strictObject({ injection: InjectionAction.default("block") })
      .prefault({})
      .describe("The user's input at the start of a run."),
    injection: z
      .strictObject({
        builtIn: z
          .enum(["rules", "combined"])
          .default("combined")
          .describe(
            "The built-in detector: the rules combined with the learned model (the default), or the rules alone (fewer false positives, far less recall).",
          ),
        detectors: z
          .array(InjectionDetector)
          .max(4)
          .default([])
          .describe("Model-based detectors asked beside the built-in rules, in parallel."),
        combine: z
          .enum(["any", "all"])
          .default("any")
          .describe("any: a finding when any detector flags the text; all: only when every detector does."),
        onError: z
          .enum(["flag", "pass"])
          .default("flag")
          .describe(
            "A detector that fails or times out: flag counts it as a finding (fail closed); pass counts it as nothing found (fail open).",
          ),
      })
      .prefault({})
      .describe(
        "How text is inspected for prompt injection: the built-in rules and any model-based detectors.",
      ),
    toolResults: z
      .strictObject({
        injection: InjectionAction.default("review"),
        taint: z
          .enum(["outbound", "side-effects", "off"])
          .default("outbound")
          .describe(
            "After a finding in a tool result lets the run go on, hold for review calls to tools that send data outside (outbound), also those with side effects (side-effects), or none (off).",
          ),
      })
      .prefault({})
      .describe("What tools return (retrieved documents, API replies) before the model reads it."),
    output: z
      .strictObject({
        redact: RedactionClasses.default(["pii", "secrets"]).describe(
          "What is masked in final answers and in tool arguments that leave the system.",
        ),
      })
      .prefault({})
      .describe("Final answers and outbound tool arguments."),
    journal: z
      .strictObject({
        redact: RedactionClasses.default(["secrets"]).describe(
          "What is masked in every payload before it is journaled or exported; the journal keeps the original's hash.",
        ),
      })
      .prefault({})
      .describe("What the run journal, traces and exports may hold."),
  })
  .describe("Prompt-injection and redaction guards on inputs, tool results and outputs (docs/security.md).");

export type GuardsSection = z.output<typeof GuardsSection>;
export type InjectionAction = z.output<typeof InjectionAction>;
export type InjectionDetectorSpec = z.output<typeof InjectionDetector>;
export type RedactionClass = z.output<typeof RedactionClass>;
