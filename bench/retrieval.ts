/**
 * `npm run bench:retrieval`: retrieval quality over the support-triage help centre, and vector search latency at
 * scale, each against a baseline measured in the same run.
 *
 * Quality: the labelled questions in bench/retrieval/questions.yaml, each naming the article that answers it,
 * against the help centre ingested by `ingestKnowledgeBase` into a PGlite store. recall@5 (the article is among the
 * top 5 chunks' sources) and MRR (1 / rank of its first chunk, 0 beyond 10) for full-text search (PostgreSQL
 * ts_rank), vector search and hybrid (reciprocal-rank fusion). Vectors come from the OFFLINE EMBEDDING STAND-IN
 * (hashed n-grams, not a language model): the vector figures say what the index and the fusion do with it, not
 * what a real embedding model would score.
 *
 * Latency: synthetic unit vectors (a Gaussian mixture; not embeddings of text), searched with the IVF index at
 * several probe counts; recall@10 and the latency are measured against an exact scan of the same vectors.
 *
 *   npm run bench:retrieval                       quality, then 1,000,000 vectors of 64 dimensions
 *   npm run bench:retrieval -- --vectors 100000   a smaller latency run
 *   npm run bench:retrieval -- --quality-only
 */
import { readFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { parse as parseYaml } from "yaml";
import {
  ExactIndex,
  IvfIndex,
  ingestKnowledgeBase,
  MemoryStore,
  type RetrievalMode,
  Retriever,
  seededRandom,
} from "../src/memory/index.ts";
import { createOfflineTextEmbedder, normalise } from "../src/models/index.ts";
import { openStore } from "../src/store/index.ts";
import { describeSource } from "./describe-source.ts";
import { summarizeLatencies } from "./summarize-latencies.ts";

const { values } = parseArgs({
  options: {
    vectors: { type: "string", default: "1000000" },
    dimensions: { type: "string", default: "64" },
    queries: { type: "string", default: "200" },
    "quality-only": { type: "boolean", default: false },
    "chunk-chars": { type: "string", default: "400" },
  },
});

const KB_DIR = new URL("../examples/support-triage/kb/", import.meta.url).pathname;
const QUESTIONS = new URL("./retrieval/questions.yaml", import.meta.url).pathname;

const source = describeSource();
console.log(`# retrieval benchmark`);
console.log(
  `commit ${source.commit}${source.uncommitted.length > 0 ? ` (uncommitted: ${source.uncommitted.join(", ")})` : ""}; node ${process.version}; ${availableParallelism()} CPUs (${cpus()[0]?.model ?? "?"}); load average at start ${loadavg()
    .map((value) => value.toFixed(2))
    .join(", ")}`,
);

await quality();
if (!values["quality-only"]) latency();
console.log(
  `load average at end ${loadavg()
    .map((value) => value.toFixed(2))
    .join(", ")}`,
);

async function quality(): Promise<void> {
  const questions = parseYaml(readFileSync(QUESTIONS, "utf8")) as { q: string; source: string }[];
  const store = await openStore({});
  try {
    const memories = new MemoryStore(store.sql);
    const embedder = createOfflineTextEmbedder();
    const report = await ingestKnowledgeBase({
      store: memories,
      tenant: "default",
      kb: "help-centre",
      directory: KB_DIR,
      embedder,
      maxChars: Number(values["chunk-chars"]),
    });
    const chunks = report.files.reduce((sum, file) => sum + file.chunks, 0);
    console.log(
      `\n## quality: ${questions.length} labelled questions over ${report.files.length} help-centre articles (${chunks} chunks of at most ${values["chunk-chars"]} characters), PGlite`,
    );
    console.log(`embeddings: ${embedder.label}\n`);
    console.log("| retrieval | recall@5 | MRR@10 |");
    console.log("|---|---|---|");
    const retriever = new Retriever(memories, embedder);
    for (const mode of ["fulltext", "vector", "hybrid"] as RetrievalMode[]) {
      let found = 0;
      let reciprocal = 0;
      for (const question of questions) {
        const hits = await retriever.searchKb({
          tenant: "default",
          kb: "help-centre",
          query: question.q,
          limit: 10,
          mode,
        });
        const rank = hits.findIndex((hit) => hit.chunk.source === question.source);
        if (rank >= 0 && rank < 5) found += 1;
        if (rank >= 0) reciprocal += 1 / (rank + 1);
      }
      const label = mode === "fulltext" ? "full-text (ts_rank)" : `${mode} (offline stand-in embedding)`;
      console.log(
        `| ${label} | ${(found / questions.length).toFixed(3)} | ${(reciprocal / questions.length).toFixed(3)} |`,
      );
    }
  } finally {
    await store.close();
  }
}

function latency(): void {
  const count = Number(values.vectors);
  const dimensions = Number(values.dimensions);
  const queryCount = Number(values.queries);
  console.log(
    `\n## vector search: ${count.toLocaleString("en")} synthetic unit vectors of ${dimensions} dimensions (Gaussian mixture of 10,000 centres, not text embeddings), ${queryCount} queries from the same mixture`,
  );
  const started = performance.now();
  const data = mixture(count, dimensions, 10_000, 1);
  const queries = mixture(queryCount, dimensions, 10_000, 1, 2);
  console.log(`generated in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const buildStart = performance.now();
  const lists = Math.round(Math.sqrt(count));
  const ivf = new IvfIndex(data, dimensions, {
    lists,
    sampleSize: Math.min(count, lists * 48),
    iterations: 6,
  });
  const buildSeconds = (performance.now() - buildStart) / 1000;
  console.log(
    `IVF index built in ${buildSeconds.toFixed(1)} s (${ivf.lists} lists, k-means on ${Math.min(count, lists * 48).toLocaleString("en")} vectors, 6 rounds)`,
  );

  const exact = new ExactIndex(data, dimensions);
  const query = (at: number) => queries.subarray(at * dimensions, (at + 1) * dimensions);
  const truth: Set<number>[] = [];
  const exactTimes: number[] = [];
  const exactCpu: number[] = [];
  for (let at = 0; at < queryCount; at += 1) {
    const cpu = process.cpuUsage();
    const start = performance.now();
    const hits = exact.search(query(at), 10);
    exactTimes.push(performance.now() - start);
    exactCpu.push(cpuMs(cpu));
    truth.push(new Set(hits.map((hit) => hit.index)));
  }
  const baseline = summarizeLatencies(exactTimes);
  const baselineCpu = summarizeLatencies(exactCpu);
  console.log(
    "\nwall-clock times include waiting for a CPU on a loaded machine; CPU ms is this process's own CPU time per query\n",
  );
  console.log("| search | recall@10 | p50 ms | p95 ms | p95 / exact p95 | p50 CPU ms | p95 CPU ms |");
  console.log("|---|---|---|---|---|---|---|");
  console.log(
    `| exact scan (baseline) | 1.000 | ${baseline.p50.toFixed(2)} | ${baseline.p95.toFixed(2)} | 1.000 | ${baselineCpu.p50.toFixed(2)} | ${baselineCpu.p95.toFixed(2)} |`,
  );
  for (const probes of [8, 16, 32, 64, 128]) {
    ivf.probes = Math.min(probes, lists);
    let found = 0;
    const times: number[] = [];
    const cpuTimes: number[] = [];
    // One warm-up pass so the JIT has compiled the scan before it is timed.
    for (let at = 0; at < Math.min(20, queryCount); at += 1) ivf.search(query(at), 10);
    for (let at = 0; at < queryCount; at += 1) {
      const cpu = process.cpuUsage();
      const start = performance.now();
      const hits = ivf.search(query(at), 10);
      times.push(performance.now() - start);
      cpuTimes.push(cpuMs(cpu));
      found += hits.filter((hit) => truth[at]!.has(hit.index)).length;
    }
    const summary = summarizeLatencies(times);
    const cpuSummary = summarizeLatencies(cpuTimes);
    console.log(
      `| IVF, ${probes} probes | ${(found / (queryCount * 10)).toFixed(3)} | ${summary.p50.toFixed(2)} | ${summary.p95.toFixed(2)} | ${(summary.p95 / baseline.p95).toFixed(3)} | ${cpuSummary.p50.toFixed(2)} | ${cpuSummary.p95.toFixed(2)} |`,
    );
  }
}

/** This process's CPU time (user and system) since `since`, in milliseconds. */
function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1_000;
}

/**
 * `count` unit vectors, each a random centre of `centres` plus Gaussian noise. Queries use a different `noiseSeed`
 * over the same centres (the same `seed`), so they come from the same mixture but are not in the data.
 */
function mixture(
  count: number,
  dimensions: number,
  centres: number,
  seed: number,
  noiseSeed = seed,
): Float32Array {
  const centreRandom = seededRandom(seed);
  const gaussianOf = (random: () => number) => () =>
    Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const centreGaussian = gaussianOf(centreRandom);
  const middles = new Float32Array(centres * dimensions);
  for (let index = 0; index < middles.length; index += 1) middles[index] = centreGaussian();
  const random = seededRandom(noiseSeed * 7_919 + 13);
  const gaussian = gaussianOf(random);
  const data = new Float32Array(count * dimensions);
  const vector = new Float32Array(dimensions);
  for (let row = 0; row < count; row += 1) {
    const middle = Math.floor(random() * centres) * dimensions;
    for (let index = 0; index < dimensions; index += 1)
      vector[index] = middles[middle + index]! + 0.5 * gaussian();
    data.set(normalise(vector), row * dimensions);
  }
  return data;
}
