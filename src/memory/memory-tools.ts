import { createHash } from "node:crypto";
import { z } from "zod";
import { type EntityClass, redactText } from "../guards/index.ts";
import type { TextEmbedder } from "../models/index.ts";
import { type GuardsSection, MEMORY_TOOLS, type MemorySection } from "../spec/index.ts";
import type { SqlClient } from "../store/index.ts";
import { defineTool, type Tool } from "../tools/index.ts";
import type { MemoryMetrics } from "./memory-metrics.ts";
import { type MemoryRecord, type MemoryScope, MemoryStore } from "./memory-store.ts";
import { Retriever } from "./retrieve.ts";

/** What the built-in memory tools of one agent are made from. */
export type MemoryToolsOptions = {
  agent: string;
  memory: MemorySection;
  /** The agent's guards: memories are redacted with its journal classes, as journal payloads are. */
  guards: GuardsSection | undefined;
  sql: SqlClient;
  embedder: TextEmbedder | null;
  metrics?: MemoryMetrics;
  now?: () => Date;
};

const DataClass = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,31}$/, "expected a data class such as internal or pii");

/**
 * The built-in `remember` and `recall` tools an agent's `memory` section enables. They are ordinary tools: the
 * governor decides every call (a `remember`'s `dataClass` is an argument policies read), their calls and results are
 * journaled and redacted like any other. Memories are scoped to the run's tenant and, with `scope: user`, to the
 * person the run acts for; both are read from the run's own row, never from the model's arguments.
 */
export function createMemoryTools(options: MemoryToolsOptions): Tool[] {
  const store = new MemoryStore(options.sql);
  const retriever = new Retriever(store, options.embedder);
  const now = options.now ?? (() => new Date());
  const { memory } = options;
  const tools: Tool[] = [];
  const longTerm = memory.longTerm;
  const journalClasses = new Set<EntityClass>(options.guards?.journal.redact ?? ["secrets"]);
  const retrieval = options.embedder
    ? `${memory.retrieval} (embeddings: ${options.embedder.label})`
    : "fulltext (no embedding model configured)";

  const scopeOf = async (runId: string): Promise<MemoryScope> => {
    const principal = await store.runPrincipal(runId);
    if (!principal) throw new Error(`run ${runId} is not in the store`);
    return {
      tenant: principal.tenant,
      agent: options.agent,
      subject: longTerm?.scope === "agent" ? null : principal.subject,
    };
  };

  if (longTerm) {
    const allowed = longTerm.dataClasses;
    tools.push(
      defineTool({
        name: MEMORY_TOOLS.remember,
        description:
          "Remember a fact for later conversations (a preference, a standing instruction, an outcome). " +
          `State it in one or two sentences and give its data class (${allowed.join(", ")}); personal data is pii.`,
        input: z.strictObject({
          text: z
            .string()
            .trim()
            .min(1)
            .max(2_000)
            .describe("The fact to remember, in one or two sentences."),
          dataClass: DataClass.describe(`Its data class: one of ${allowed.join(", ")}.`),
        }),
        output: z.strictObject({
          id: z.string(),
          text: z.string(),
          dataClass: z.string(),
          expiresAt: z.string().nullable(),
          redacted: z.array(z.string()),
        }),
        sideEffect: true,
        dataClasses: ["internal"],
        async execute(input, context) {
          context.signal.throwIfAborted();
          const scope = await scopeOf(context.runId);
          // Masked like journal payloads; personal data is kept only in a memory that declares itself pii.
          const classes = new Set(journalClasses);
          if (input.dataClass !== "pii") classes.add("pii");
          const redacted = redactText(input.text, classes);
          const writtenAt = now();
          const [vector] = options.embedder
            ? await options.embedder.embed([redacted.text], context.signal)
            : [];
          const record = await store.insertMemory({
            id: memoryIdOf(context.idempotencyKey),
            scope,
            text: redacted.text,
            dataClasses: [input.dataClass],
            source: `run:${context.runId}`,
            expiresAt:
              longTerm.retention === undefined ? null : new Date(writtenAt.getTime() + longTerm.retention),
            ...(vector && options.embedder ? { embedding: { model: options.embedder.model, vector } } : {}),
          });
          options.metrics?.remembered(options.agent, input.dataClass);
          return rememberResult(record, [...new Set(redacted.findings.map((finding) => finding.type))]);
        },
        async reconcile(_input, context) {
          const scope = await scopeOf(context.runId);
          const record = await store.getMemory(scope.tenant, memoryIdOf(context.idempotencyKey));
          return record ? { applied: true, result: rememberResult(record, []) } : { applied: false };
        },
      }),
    );
  }

  const kb = memory.knowledgeBase;
  tools.push(
    defineTool({
      name: MEMORY_TOOLS.recall,
      description:
        `Search ${[
          longTerm ? "what you remembered about this user" : null,
          kb ? `the knowledge base "${kb.name}"` : null,
        ]
          .filter(Boolean)
          .join(" and ")}. ` +
        "Cite each passage you use by its source and updatedAt; a passage marked stale may be out of date.",
      input: z.strictObject({
        query: z.string().trim().min(1).max(500).describe("What to look for, in words or keywords."),
        limit: z
          .number()
          .int()
          .min(1)
          .max(memory.maxResults)
          .default(memory.maxResults)
          .describe("How many results of each kind, best first."),
      }),
      output: z.strictObject({
        retrieval: z.string(),
        memories: z.array(
          z.strictObject({
            id: z.string(),
            text: z.string(),
            dataClasses: z.array(z.string()),
            source: z.string(),
            updatedAt: z.string(),
          }),
        ),
        knowledge: z.array(
          z.strictObject({
            source: z.string(),
            chunk: z.number(),
            heading: z.string().nullable(),
            text: z.string(),
            updatedAt: z.string(),
            stale: z.boolean(),
          }),
        ),
        staleCount: z.number(),
      }),
      dataClasses: [...new Set([...(longTerm?.dataClasses ?? []), ...(kb ? ["internal"] : [])])],
      recordLimitArgument: "limit",
      async execute(input, context) {
        context.signal.throwIfAborted();
        const scope = await scopeOf(context.runId);
        const at = now();
        const memories = longTerm
          ? await retriever.recallMemories({
              scope,
              query: input.query,
              limit: input.limit,
              now: at,
              signal: context.signal,
            })
          : [];
        const chunks = kb
          ? await retriever.searchKb({
              tenant: scope.tenant,
              kb: kb.name,
              query: input.query,
              limit: input.limit,
              mode: memory.retrieval,
              now: at,
              signal: context.signal,
              ...(kb.freshness === undefined ? {} : { freshnessMs: kb.freshness }),
            })
          : [];
        const staleCount = chunks.filter((hit) => hit.stale).length;
        if (kb) options.metrics?.staleChunks(options.agent, kb.name, staleCount);
        return {
          retrieval,
          memories: memories.map(({ memory: record }) => ({
            id: record.id,
            text: record.text,
            dataClasses: record.dataClasses,
            source: record.source,
            updatedAt: record.updatedAt.toISOString(),
          })),
          knowledge: chunks.map(({ chunk, stale }) => ({
            source: chunk.source,
            chunk: chunk.chunkIndex,
            heading: chunk.heading,
            text: chunk.text,
            updatedAt: chunk.updatedAt.toISOString(),
            stale,
          })),
          staleCount,
        };
      },
    }),
  );
  return tools;
}

/** A `remember` call's memory id, from its idempotency key: a retried call finds the memory it wrote. */
function memoryIdOf(idempotencyKey: string): string {
  return `mem_${createHash("sha256").update(idempotencyKey).digest("hex").slice(0, 32)}`;
}

function rememberResult(record: MemoryRecord, redacted: string[]) {
  return {
    id: record.id,
    text: record.text,
    dataClass: record.dataClasses[0] ?? "internal",
    expiresAt: record.expiresAt?.toISOString() ?? null,
    redacted,
  };
}
