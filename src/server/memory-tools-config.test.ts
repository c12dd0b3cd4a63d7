import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Registry as MetricsRegistry } from "prom-client";
import { isKeelError } from "../errors/index.ts";
import { ingestKnowledgeBase, MemoryStore, Retriever } from "../memory/index.ts";
import { createOfflineTextEmbedder } from "../models/index.ts";
import {
  type LoopbackEmbeddings,
  startLoopbackEmbeddings,
} from "../models/loopback/loopback-embeddings-server.ts";
import { MemorySection } from "../spec/index.ts";
import { openStore } from "../store/index.ts";
import { createEnvModelGateway } from "./env-model-gateway.ts";
import { memoryEmbedderOf } from "./memory-tools-config.ts";

const memory = (embedding: Record<string, unknown>) =>
  MemorySection.parse({ knowledgeBase: { name: "help" }, embedding });

describe("the embedding model a memory section names", () => {
  let server: LoopbackEmbeddings;
  // The loopback server answers with the offline stand-in's vectors, so similar texts get similar vectors.
  const standIn = createOfflineTextEmbedder({ dimensions: 64 });
  before(async () => {
    server = await startLoopbackEmbeddings({
      vectorOf: async (text) => [...(await standIn.embed([text]))[0]!],
    });
  });
  after(async () => {
    await server.close();
  });

  test("openai without OPENAI_API_KEY stops with a message naming the variable and the spec file", () => {
    assert.throws(
      () => memoryEmbedderOf(memory({ provider: "openai", id: "text-embedding-3-small" }), {}, "agent.yaml"),
      (error: unknown) =>
        isKeelError(error, "invalid_spec") &&
        /agent\.yaml: memory\.embedding uses openai\/text-embedding-3-small, but OPENAI_API_KEY is not set/.test(
          error.message,
        ),
    );
  });

  test("a spec's fallback serves the embeddings through the process's gateway when the first server is down, and both are counted", async () => {
    const downServer = await startLoopbackEmbeddings({ vectorOf: () => [1, 0], failWith: () => 503 });
    try {
      const registry = new MetricsRegistry();
      const gateway = createEnvModelGateway({ env: {}, metrics: registry });
      const embedder = memoryEmbedderOf(
        memory({
          provider: "ollama",
          id: "nomic-embed-text",
          baseUrl: `${downServer.url}/v1`,
          fallbacks: [{ provider: "vllm", id: "nomic-embed-text", baseUrl: `${server.url}/v1` }],
        }),
        {},
        "agent.yaml",
        { gateway, caller: "helpdesk" },
      )!;
      assert.equal(embedder.model, "ollama/nomic-embed-text");
      const before = server.requests.length;
      const [vector] = await embedder.embed(["refund"]);
      assert.ok(Math.abs(Math.hypot(...vector!) - 1) < 1e-6);
      assert.ok(downServer.requests.length >= 1, "the first server was asked");
      assert.equal(server.requests.length, before + 1, "the fallback answered");
      const text = await registry.metrics();
      assert.match(text, /keel_gateway_embedding_calls_total\{caller="helpdesk",outcome="ok"\} 1/);
      // Self-hosted servers are not priced, but their tokens count.
      assert.match(text, /keel_gateway_embedding_tokens_total\{caller="helpdesk"\} 3/);
    } finally {
      await downServer.close();
    }
  });

  test("a fallback naming another model is refused where the spec is read, naming the field", () => {
    const parsed = MemorySection.safeParse({
      knowledgeBase: { name: "help" },
      embedding: {
        provider: "openai",
        id: "text-embedding-3-small",
        fallbacks: [{ provider: "openai", id: "text-embedding-3-large" }],
      },
    });
    assert.equal(parsed.success, false);
    assert.deepEqual(parsed.error?.issues[0]?.path, ["embedding", "fallbacks"]);
    assert.match(parsed.error?.issues[0]?.message ?? "", /same model id/);
  });

  test("an unknown provider without a baseUrl is refused, naming the ones Keel knows", () => {
    assert.throws(
      () => memoryEmbedderOf(memory({ provider: "acme", id: "e1" }), {}, "agent.yaml"),
      /provider "acme" is not one Keel knows \(openai, google, offline\)/,
    );
  });

  test("openai through OPENAI_BASE_URL embeds ingested chunks and queries over the real wire, and vector search finds the chunk", async () => {
    const embedder = memoryEmbedderOf(
      memory({ provider: "openai", id: "text-embedding-3-small" }),
      { OPENAI_API_KEY: "sk-test", OPENAI_BASE_URL: `${server.url}/v1` },
      "agent.yaml",
    )!;
    assert.equal(embedder.model, "openai/text-embedding-3-small");
    const dir = await mkdtemp(join(tmpdir(), "keel-kb-embed-"));
    await writeFile(
      join(dir, "refunds.md"),
      "# Refunds\n\nRefunds reach your credit card in 5 to 10 business days.\n",
    );
    await writeFile(
      join(dir, "shipping.md"),
      "# Shipping\n\nWe ship to Canada, the United Kingdom and Australia.\n",
    );
    const store = await openStore({});
    try {
      const memories = new MemoryStore(store.sql);
      const before = server.requests.length;
      await ingestKnowledgeBase({ store: memories, tenant: "default", kb: "help", directory: dir, embedder });
      assert.ok(server.requests.slice(before).every((request) => request.path === "/v1/embeddings"));
      assert.equal(server.requests.at(-1)!.headers.authorization, "Bearer sk-test");
      const hits = await new Retriever(memories, embedder).searchKb({
        tenant: "default",
        kb: "help",
        query: "shipping to australia",
        limit: 1,
        mode: "vector",
      });
      assert.equal(hits[0]!.chunk.source, "shipping.md");
      assert.deepEqual(server.requests.at(-1)!.body.input, ["shipping to australia"]);
    } finally {
      await store.close();
    }
  });

  test("an OpenAI-compatible server is called at its baseUrl with the key from keyEnv, and Gemini at its own API", async () => {
    const compatible = memoryEmbedderOf(
      memory({
        provider: "ollama",
        id: "nomic-embed-text",
        baseUrl: `${server.url}/v1`,
        keyEnv: "OLLAMA_KEY",
      }),
      { OLLAMA_KEY: "k-ollama" },
      "agent.yaml",
    )!;
    await compatible.embed(["hello"]);
    assert.equal(server.requests.at(-1)!.headers.authorization, "Bearer k-ollama");
    const gemini = memoryEmbedderOf(
      memory({ provider: "google", id: "gemini-embedding-001" }),
      { GOOGLE_GENERATIVE_AI_API_KEY: "g-key", GOOGLE_GENERATIVE_AI_BASE_URL: `${server.url}/v1beta` },
      "agent.yaml",
    )!;
    await gemini.embed(["one", "two"]);
    assert.equal(server.requests.at(-1)!.path, "/v1beta/models/gemini-embedding-001:batchEmbedContents");
    assert.equal(
      memoryEmbedderOf(memory({ provider: "offline", id: "ngram" }), {}, "agent.yaml")!.offline,
      true,
    );
  });
});
