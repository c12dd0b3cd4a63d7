import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

/** One request the embeddings server received. */
export type EmbeddingsRequest = {
  path: string;
  headers: IncomingMessage["headers"];
  body: Record<string, unknown>;
};

/** A loopback server speaking OpenAI's and Gemini's embeddings wire formats, with vectors made by `vectorOf`. */
export type LoopbackEmbeddings = {
  /** `http://127.0.0.1:<port>`; OpenAI's API is under `/v1`, Gemini's under `/v1beta`. */
  readonly url: string;
  readonly requests: EmbeddingsRequest[];
  close(): Promise<void>;
};

/**
 * Start a server answering OpenAI's `POST /v1/embeddings` and Gemini's `:embedContent` and `:batchEmbedContents`
 * with their real response shapes; any other path is a 404 in OpenAI's error shape.
 */
export async function startLoopbackEmbeddings(options: {
  vectorOf: (text: string) => number[] | Promise<number[]>;
  /** A status to fail each request with (in OpenAI's error shape), or null to answer it: a server that is down. */
  failWith?: () => number | null;
}): Promise<LoopbackEmbeddings> {
  const requests: EmbeddingsRequest[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", async () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, unknown>;
      const path = request.url ?? "";
      requests.push({ path, headers: request.headers, body });
      response.setHeader("content-type", "application/json");
      const failure = options.failWith?.() ?? null;
      if (failure !== null) {
        response.statusCode = failure;
        response.end(JSON.stringify({ error: { message: `failing with ${failure}`, type: "server_error" } }));
      } else if (path === "/v1/embeddings") {
        const input = body.input as string[];
        const data = await Promise.all(
          input.map(async (text, index) => ({
            object: "embedding",
            index,
            embedding: await options.vectorOf(text),
          })),
        );
        response.end(
          JSON.stringify({
            object: "list",
            data,
            model: body.model,
            usage: { prompt_tokens: input.length * 3, total_tokens: input.length * 3 },
          }),
        );
      } else if (path.startsWith("/v1beta/models/") && path.endsWith(":batchEmbedContents")) {
        const items = body.requests as { content: { parts: { text: string }[] } }[];
        const embeddings = await Promise.all(
          items.map(async (item) => ({ values: await options.vectorOf(item.content.parts[0]!.text) })),
        );
        response.end(JSON.stringify({ embeddings }));
      } else if (path.startsWith("/v1beta/models/") && path.endsWith(":embedContent")) {
        const content = body.content as { parts: { text: string }[] };
        response.end(
          JSON.stringify({ embedding: { values: await options.vectorOf(content.parts[0]!.text) } }),
        );
      } else {
        response.statusCode = 404;
        response.end(
          JSON.stringify({ error: { message: `no route ${path}`, type: "invalid_request_error" } }),
        );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
