import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { KeelError } from "../errors/index.ts";
import type { TextEmbedder } from "../models/index.ts";
import { chunkDocument, documentKindOf } from "./chunk-document.ts";
import type { KbFileOutcome, MemoryStore } from "./memory-store.ts";

/** The default largest chunk, in characters. */
export const DEFAULT_CHUNK_CHARS = 1_200;

export type IngestOptions = {
  store: MemoryStore;
  tenant: string;
  kb: string;
  directory: string;
  embedder: TextEmbedder | null;
  maxChars?: number;
  /** How long a document stays fresh after its `updatedAt`, unless its front matter says (`freshUntil`). */
  freshnessMs?: number;
  /** Remove the chunks of files that are no longer in the directory (default true). */
  prune?: boolean;
};

/** What an ingest did, file by file. */
export type IngestReport = {
  kb: string;
  tenant: string;
  embedding: string;
  /** `empty`: the file has no text to chunk; whatever the knowledge base held for it is removed. */
  files: { source: string; outcome: KbFileOutcome | "empty"; chunks: number; updatedAt: string }[];
  removed: string[];
};

/**
 * Load a directory of Markdown, text and HTML files into a knowledge base. Each file is chunked and stored with its
 * path (relative to the directory) and `updatedAt` (front matter `updatedAt`/`updated`/`date`, else the file's
 * modification time). Idempotent: a file whose content, chunk size and embedding model are unchanged is skipped,
 * a changed one has its chunks replaced, a removed one has them deleted.
 */
export async function ingestKnowledgeBase(options: IngestOptions): Promise<IngestReport> {
  const maxChars = options.maxChars ?? DEFAULT_CHUNK_CHARS;
  const info = await stat(options.directory).catch(() => null);
  if (!info?.isDirectory()) {
    throw new KeelError("invalid_request", `${options.directory} is not a directory`);
  }
  const files = (await listFiles(options.directory)).filter((file) => documentKindOf(file) !== null).sort();
  if (files.length === 0) {
    throw new KeelError(
      "invalid_request",
      `${options.directory} has no Markdown (.md), text (.txt) or HTML (.html) files to ingest`,
    );
  }
  const known = await options.store.kbFileHashes(options.tenant, options.kb);
  const report: IngestReport = {
    kb: options.kb,
    tenant: options.tenant,
    embedding: options.embedder?.label ?? "none (full-text search only)",
    files: [],
    removed: [],
  };
  const seen = new Set<string>();
  for (const file of files) {
    const source = relative(options.directory, file).split(sep).join("/");
    seen.add(source);
    const text = await readFile(file, "utf8");
    const fileHash = createHash("sha256")
      .update(`${maxChars}\n${options.embedder?.model ?? ""}\n${options.freshnessMs ?? ""}\n`)
      .update(text)
      .digest("hex");
    const chunked = chunkDocument(text, documentKindOf(file)!, maxChars);
    const updatedAt =
      dateField(chunked.frontMatter, ["updatedAt", "updated", "date"], source) ?? (await stat(file)).mtime;
    const declared = dateField(chunked.frontMatter, ["freshUntil", "reviewBy"], source);
    const freshUntil =
      declared ??
      (options.freshnessMs === undefined ? null : new Date(updatedAt.getTime() + options.freshnessMs));
    if (chunked.chunks.length === 0) {
      await options.store.deleteKbSources(options.tenant, options.kb, [source]);
      report.files.push({ source, outcome: "empty", chunks: 0, updatedAt: updatedAt.toISOString() });
      continue;
    }
    if (known.get(source) === fileHash) {
      report.files.push({
        source,
        outcome: "unchanged",
        chunks: chunked.chunks.length,
        updatedAt: updatedAt.toISOString(),
      });
      continue;
    }
    const vectors = options.embedder
      ? await options.embedder.embed(chunked.chunks.map((chunk) => embeddingText(chunk.heading, chunk.text)))
      : [];
    const outcome = await options.store.replaceKbFile({
      tenant: options.tenant,
      kb: options.kb,
      source,
      fileHash,
      updatedAt,
      freshUntil,
      embeddingModel: options.embedder?.model ?? null,
      chunks: chunked.chunks.map((chunk, index) => ({
        ...chunk,
        ...(vectors[index] ? { embedding: vectors[index] } : {}),
      })),
    });
    report.files.push({ source, outcome, chunks: chunked.chunks.length, updatedAt: updatedAt.toISOString() });
  }
  if (options.prune ?? true) {
    report.removed = [...known.keys()].filter((source) => !seen.has(source)).sort();
    await options.store.deleteKbSources(options.tenant, options.kb, report.removed);
  }
  return report;
}

/** What is embedded for a chunk: its heading path and its text, so a chunk is found by its section's title. */
export function embeddingText(heading: string | null, text: string): string {
  return heading === null ? text : `${heading}\n\n${text}`;
}

async function listFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith(".")) continue;
    const path = join(directory, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

function dateField(
  frontMatter: Record<string, unknown>,
  names: readonly string[],
  source: string,
): Date | null {
  for (const name of names) {
    const value = frontMatter[name];
    if (value === undefined || value === null) continue;
    const date = value instanceof Date ? value : new Date(String(value));
    if (Number.isNaN(date.getTime())) {
      throw new KeelError(
        "invalid_request",
        `${source}: front matter ${name} is not a date: ${String(value)}`,
      );
    }
    return date;
  }
  return null;
}
