import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type LoopbackEmbeddings, startLoopbackEmbeddings } from "./loopback/loopback-embeddings-server.ts";
import { createOfflineTextEmbedder, createTextEmbedder } from "./text-embedder.ts";

/** A vector the loopback server makes from a text: its length and its count of the letter e, not normalised. */
const vectorOf = (text: string) => [text.length, [...text].filter((letter) => letter === "e").length, 0];

describe("embedding models over their real wire formats", () => {
  let server: LoopbackEmbeddings;
  before(async () => {
    server = await startLoopbackEmbeddings({ vectorOf });
  });
  after(async () => {
    await server.close();
  });

  test("OpenAI embeddings come back in input order, normalised, with the key sent as a bearer token", async () => {
    const embedder = createTextEmbedder({
      provider: "openai",
      model: "text-embedding-3-small",
      apiKey: "sk-test",
      baseUrl: `${server.url}/v1`,
    });
    const [first, second] = await embedder.embed(["eee", "abcd"]);
    const request = server.requests.at(-1)!;
    assert.equal(request.path, "/v1/embeddings");
    assert.equal(request.headers.authorization, "Bearer sk-test");
    assert.deepEqual(request.body.input, ["eee", "abcd"]);
    assert.equal(request.body.model, "text-embedding-3-small");
    // "eee" is [3, 3, 0] on the wire: both components 1/√2 once normalised.
    assert.ok(Math.abs(first![0]! - Math.SQRT1_2) < 1e-6 && Math.abs(first![1]! - Math.SQRT1_2) < 1e-6);
    assert.equal(first![2], 0);
    assert.deepEqual([...second!], [1, 0, 0]);
    assert.equal(embedder.model, "openai/text-embedding-3-small");
    assert.equal(embedder.offline, false);
  });

  test("an OpenAI-compatible server is called at its own base URL under its own name", async () => {
    const embedder = createTextEmbedder({
      provider: "ollama",
      model: "nomic-embed-text",
      baseUrl: `${server.url}/v1`,
    });
    const [vector] = await embedder.embed(["hello"]);
    assert.equal(server.requests.at(-1)!.path, "/v1/embeddings");
    assert.ok(Math.abs(Math.hypot(...vector!) - 1) < 1e-6);
    assert.equal(embedder.model, "ollama/nomic-embed-text");
  });

  test("Gemini embeddings use batchEmbedContents for several texts and embedContent for one", async () => {
    const embedder = createTextEmbedder({
      provider: "google",
      model: "gemini-embedding-001",
      apiKey: "g-test",
      baseUrl: `${server.url}/v1beta`,
    });
    const vectors = await embedder.embed(["ee", "abc", "e"]);
    const batch = server.requests.at(-1)!;
    assert.equal(batch.path, "/v1beta/models/gemini-embedding-001:batchEmbedContents");
    assert.equal(batch.headers["x-goog-api-key"], "g-test");
    assert.equal(vectors.length, 3);
    assert.deepEqual([...vectors[1]!], [1, 0, 0]);
    await embedder.embed(["one"]);
    assert.equal(server.requests.at(-1)!.path, "/v1beta/models/gemini-embedding-001:embedContent");
  });

  test("a server with no embeddings route fails the call instead of returning vectors", async () => {
    const embedder = createTextEmbedder({
      provider: "openai",
      model: "x",
      apiKey: "k",
      baseUrl: `${server.url}/nowhere`,
    });
    await assert.rejects(embedder.embed(["text"]));
  });
});

test("the offline stand-in says so, and gives texts sharing words a higher similarity than unrelated ones", async () => {
  const embedder = createOfflineTextEmbedder({ dimensions: 256 });
  assert.match(embedder.label, /offline stand-in/);
  assert.equal(embedder.offline, true);
  const [refund, refunds, shipping] = await embedder.embed([
    "How long does a refund take?",
    "Refunds reach your card in 5 to 10 days",
    "We ship to Canada",
  ]);
  const dot = (a: Float32Array, b: Float32Array) =>
    a.reduce((sum, value, index) => sum + value * b[index]!, 0);
  assert.ok(dot(refund!, refunds!) > dot(refund!, shipping!));
  assert.ok(Math.abs(dot(refund!, refund!) - 1) < 1e-5);
});
