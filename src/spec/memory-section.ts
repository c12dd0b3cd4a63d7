import { z } from "zod";
import { durationSchema } from "./duration.ts";

/** The names of the built-in memory tools an agent lists in `tools:` when it enables memory. */
export const MEMORY_TOOLS = { remember: "remember", recall: "recall" } as const;

const RetentionDuration = durationSchema({
  units: ["m", "h", "d"],
  examples: "30d, 12h or 90m",
  title: "Retention",
});

const DataClassName = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,31}$/, "expected a data class such as public, internal, pii or financial");

const KnowledgeBaseName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,62}$/,
    "expected 1 to 63 lowercase letters, digits, dots, dashes or underscores",
  );

/**
 * Long-term memory and a knowledge base (docs/sessions-and-memory.md). With `longTerm`, the built-in `remember`
 * tool stores a memory for the run's user (or for the agent), of a data class the agent may store, until its
 * retention ends; `recall` searches the memories and the knowledge base. Both are tools like any other: list them in
 * `tools:` and govern them in `governance`.
 */
export const MemorySection = z
  .strictObject({
    longTerm: z
      .strictObject({
        scope: z
          .enum(["user", "agent"])
          .default("user")
          .describe(
            "user: a memory belongs to the person the run acts for; agent: to every user of the agent.",
          ),
        retention: RetentionDuration.optional().describe(
          "How long a memory is kept after it is written; expired memories are never recalled and are swept. Default: until erased.",
        ),
        dataClasses: z
          .array(DataClassName)
          .min(1)
          .default(["internal"])
          .describe(
            "Data classes a memory may carry; `remember` with any other is denied by the governor. Default: internal.",
          ),
      })
      .optional()
      .describe("What the agent may remember across runs, for whom, of which data classes, for how long."),
    knowledgeBase: z
      .strictObject({
        name: KnowledgeBaseName.describe("The knowledge base `keel kb ingest` loads (its --kb)."),
        freshness: RetentionDuration.optional().describe(
          "How long a document stays current after its updatedAt; older chunks are flagged stale and counted.",
        ),
      })
      .optional()
      .describe("The documents `recall` searches besides memories."),
    embedding: z
      .strictObject({
        provider: z
          .string()
          .min(1)
          .describe(
            "openai, google, offline (the hashed n-gram stand-in, for tests), or a name of your own for an OpenAI-compatible server (with baseUrl).",
          ),
        id: z.string().min(1).describe("The embedding model id, such as text-embedding-3-small."),
        baseUrl: z.string().url().optional().describe("For OpenAI-compatible servers: the /v1 base URL."),
        keyEnv: z
          .string()
          .regex(/^[A-Z_][A-Z0-9_]*$/, "expected an environment variable name such as OLLAMA_API_KEY")
          .optional()
          .describe("Environment variable holding the server's key, when it needs one."),
        fallbacks: z
          .array(
            z.strictObject({
              provider: z
                .string()
                .min(1)
                .describe("openai, google, or a name of your own for an OpenAI-compatible server."),
              id: z
                .string()
                .min(1)
                .describe(
                  "The same embedding model id as the first: vectors of different models cannot be compared.",
                ),
              baseUrl: z
                .string()
                .url()
                .optional()
                .describe("For OpenAI-compatible servers: the /v1 base URL."),
              keyEnv: z
                .string()
                .regex(/^[A-Z_][A-Z0-9_]*$/, "expected an environment variable name such as OLLAMA_API_KEY")
                .optional()
                .describe("Environment variable holding the server's key, when it needs one."),
            }),
          )
          .max(4)
          .optional()
          .describe(
            "The same model on other servers or keys, tried in order when the first is rate limited, unavailable or timing out.",
          ),
      })
      .refine((embedding) => (embedding.fallbacks ?? []).every((fallback) => fallback.id === embedding.id), {
        message: "every embedding fallback must name the same model id as the first",
        path: ["fallbacks"],
      })
      .optional()
      .describe(
        "The embedding model for vector search, called through the model gateway; without it retrieval is full-text search only.",
      ),
    retrieval: z
      .enum(["hybrid", "fulltext", "vector"])
      .default("hybrid")
      .describe("hybrid: full-text and vector results fused by reciprocal rank (the default)."),
    maxResults: z.number().int().min(1).max(20).default(5).describe("Most results one recall returns."),
  })
  .refine((memory) => memory.longTerm !== undefined || memory.knowledgeBase !== undefined, {
    message: "set longTerm, knowledgeBase or both",
  })
  .describe("Long-term memory and knowledge-base retrieval through the built-in remember and recall tools.");

export type MemorySection = z.output<typeof MemorySection>;

/**
 * Which built-in memory tools a spec's memory section provides: `remember` with long-term memory, `recall` with
 * long-term memory or a knowledge base.
 */
export function providedMemoryTools(memory: MemorySection | undefined): string[] {
  if (!memory) return [];
  return memory.longTerm ? [MEMORY_TOOLS.remember, MEMORY_TOOLS.recall] : [MEMORY_TOOLS.recall];
}

/** `tools:` entries naming a built-in memory tool the memory section does not provide. */
export function checkMemoryTools(
  memory: MemorySection | undefined,
  tools: readonly string[],
): { path: (string | number)[]; message: string }[] {
  const provided = new Set(providedMemoryTools(memory));
  const issues: { path: (string | number)[]; message: string }[] = [];
  for (const [index, tool] of tools.entries()) {
    if (tool === MEMORY_TOOLS.remember && !provided.has(tool)) {
      issues.push({ path: [index], message: "remember is a built-in tool: enable it with memory.longTerm" });
    }
    if (tool === MEMORY_TOOLS.recall && !provided.has(tool)) {
      issues.push({
        path: [index],
        message: "recall is a built-in tool: enable it with memory.longTerm or memory.knowledgeBase",
      });
    }
  }
  return issues;
}
