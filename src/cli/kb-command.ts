import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { KeelError } from "../errors/index.ts";
import { DEFAULT_CHUNK_CHARS, ingestKnowledgeBase, MemoryStore } from "../memory/index.ts";
import { createOfflineTextEmbedder, type TextEmbedder } from "../models/index.ts";
import { inspectPackageTools } from "../runtime/index.ts";
import { memoryEmbedderOf } from "../server/index.ts";
import { loadAgentSpec, readSpecKind } from "../spec/index.ts";
import { agentPackagesModule, importAgentPackages } from "./agent-packages.ts";
import type { CliIo } from "./cli-io.ts";
import { openCliStore } from "./open-cli-store.ts";
import { reportCliError, usageError } from "./report-cli-error.ts";

/** Usage of `keel kb`, for `keel --help` and usage errors. */
export const KB_USAGE = `  kb ingest <dir> (--agent A | --kb NAME [--tenant T]) [--chunk-chars ${DEFAULT_CHUNK_CHARS}] [--freshness 180d]
        [--embedding offline] [--data-dir .keel] [--packages M] [--json]
                                   load Markdown, text and HTML files into a knowledge base (chunked, with source
                                   and updatedAt); re-running skips unchanged files and replaces changed ones.
                                   --agent takes the base, tenant, freshness and embedding model from its spec`;

const OPTIONS = {
  agent: { type: "string" },
  kb: { type: "string" },
  tenant: { type: "string" },
  "chunk-chars": { type: "string" },
  freshness: { type: "string" },
  embedding: { type: "string" },
  "data-dir": { type: "string" },
  packages: { type: "string" },
  json: { type: "boolean" },
} as const;

const KB_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** `keel kb ingest <dir>`: straight into the store (DATABASE_URL, else the data directory), like `keel keys`. */
export async function kbCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    const [, sub, directory, ...extra] = positionals;
    if (sub !== "ingest" || !directory)
      throw usageError("keel kb ingest <dir> (--agent A | --kb NAME)", KB_USAGE);
    if (extra.length > 0) throw usageError(`unexpected arguments: ${extra.join(" ")}`, KB_USAGE);
    const target = await resolveTarget(values, io);
    const maxChars =
      values["chunk-chars"] === undefined ? DEFAULT_CHUNK_CHARS : Number(values["chunk-chars"]);
    if (!Number.isInteger(maxChars) || maxChars < 200 || maxChars > 20_000) {
      throw invalid(
        "--chunk-chars",
        `expected a whole number from 200 to 20000, got ${values["chunk-chars"]}`,
      );
    }
    const freshnessMs =
      values.freshness === undefined ? target.freshnessMs : parseFreshness(values.freshness);
    if (!(await stat(resolve(directory)).catch(() => null))?.isDirectory()) {
      throw invalid("<dir>", `${directory} is not a directory`);
    }
    const dataDir = values["data-dir"] ?? io.env.KEEL_DATA_DIR ?? ".keel";
    const opened = await openCliStore({ io, dataDir, create: true });
    if (opened.created)
      io.err(`note: there was no Keel store in ${dataDir}; created one for this knowledge base`);
    try {
      const report = await ingestKnowledgeBase({
        store: new MemoryStore(opened.store.sql),
        tenant: target.tenant,
        kb: target.kb,
        directory: resolve(directory),
        embedder: target.embedder,
        maxChars,
        ...(freshnessMs === undefined ? {} : { freshnessMs }),
      });
      if (values.json) {
        io.out(JSON.stringify(report));
        return 0;
      }
      const count = (outcome: string) => report.files.filter((file) => file.outcome === outcome).length;
      for (const file of report.files) {
        if (file.outcome !== "unchanged") {
          io.out(
            `${file.outcome.padEnd(9)} ${file.source} (${file.chunks} chunks, updated ${file.updatedAt})`,
          );
        }
      }
      for (const source of report.removed) io.out(`removed   ${source}`);
      io.out(
        `knowledge base ${report.kb} (tenant ${report.tenant}) in ${opened.where}: ${count("added")} added, ${count("replaced")} replaced, ${count("unchanged")} unchanged, ${report.removed.length} removed; embeddings: ${report.embedding}`,
      );
      return 0;
    } finally {
      await opened.close();
    }
  } catch (error) {
    return reportCliError(error, io);
  }
}

type Target = { kb: string; tenant: string; embedder: TextEmbedder | null; freshnessMs: number | undefined };

async function resolveTarget(
  values: { agent?: string; kb?: string; tenant?: string; embedding?: string; packages?: string },
  io: CliIo,
): Promise<Target> {
  if (values.embedding !== undefined && values.embedding !== "offline") {
    throw invalid(
      "--embedding",
      `only "offline" may be given here; a model is configured in the agent's spec (memory.embedding)`,
    );
  }
  const flagEmbedder = values.embedding === "offline" ? createOfflineTextEmbedder() : null;
  if (values.agent === undefined) {
    if (values.kb === undefined)
      throw usageError("keel kb ingest <dir> needs --agent A or --kb NAME", KB_USAGE);
    if (!KB_NAME.test(values.kb))
      throw invalid("--kb", "expected 1 to 63 lowercase letters, digits, dots, dashes or underscores");
    return {
      kb: values.kb,
      tenant: values.tenant ?? "default",
      embedder: flagEmbedder,
      freshnessMs: undefined,
    };
  }
  for (const agentPackage of await importAgentPackages(agentPackagesModule(values.packages, io.env))) {
    if ((await readSpecKind(agentPackage.specFile)) === "Workflow") continue;
    const loaded = await loadAgentSpec(agentPackage.specFile, {
      providedTools: inspectPackageTools(agentPackage).map((tool) => tool.name),
    });
    if (loaded.spec.name !== values.agent) continue;
    const knowledgeBase = loaded.spec.memory?.knowledgeBase;
    if (!knowledgeBase) {
      throw invalid(
        "--agent",
        `${loaded.file}: agent ${values.agent} has no memory.knowledgeBase to ingest into`,
      );
    }
    if (values.kb !== undefined && values.kb !== knowledgeBase.name) {
      throw invalid(
        "--kb",
        `agent ${values.agent} reads the knowledge base "${knowledgeBase.name}", not "${values.kb}"`,
      );
    }
    if (values.tenant !== undefined && values.tenant !== loaded.spec.tenant) {
      throw invalid(
        "--tenant",
        `agent ${values.agent} belongs to tenant "${loaded.spec.tenant}", not "${values.tenant}"`,
      );
    }
    return {
      kb: knowledgeBase.name,
      tenant: loaded.spec.tenant,
      embedder:
        flagEmbedder ??
        memoryEmbedderOf(loaded.spec.memory!, io.env, loaded.file, { caller: loaded.spec.name }),
      freshnessMs: knowledgeBase.freshness,
    };
  }
  throw new KeelError("not_found", `no agent named "${values.agent}" in the packages`);
}

const FRESHNESS_UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

function parseFreshness(text: string): number {
  const match = /^(\d+)(m|h|d)$/.exec(text);
  if (!match || Number(match[1]) === 0) {
    throw invalid("--freshness", `expected a duration such as 180d, 12h or 90m, got ${text}`);
  }
  return Number(match[1]) * FRESHNESS_UNITS[match[2]!]!;
}

function invalid(path: string, message: string): KeelError {
  return new KeelError("invalid_request", `${path}: ${message}`, { issues: [{ path, message }] });
}
