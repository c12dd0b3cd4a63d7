import { Agent, request } from "node:http";

/** The body every benchmark request sends: an ordinary chat completion, OpenAI's wire format. */
export function chatBody(model: string): string {
  return JSON.stringify({
    model,
    messages: [
      { role: "system", content: "You are the support assistant for an online shop. Answer briefly." },
      { role: "user", content: "Where is my order 1042? It was due on Monday." },
    ],
    max_tokens: 200,
    temperature: 0,
  });
}

/**
 * A keep-alive HTTP client for one base URL; `post` resolves with the status and the elapsed milliseconds, and for a
 * request that got no response (status 0) the error's code.
 */
export function createBenchClient(baseUrl: string, options: { key?: string; maxSockets?: number } = {}) {
  const url = new URL(`${baseUrl}/chat/completions`);
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 256 });
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  return {
    post(body: string): Promise<{ status: number; ms: number; error?: string }> {
      const started = performance.now();
      return new Promise((resolve) => {
        const outgoing = request(
          {
            host: url.hostname,
            port: url.port,
            path: url.pathname,
            method: "POST",
            agent,
            headers: { ...headers, "content-length": Buffer.byteLength(body) },
          },
          (response) => {
            response.resume();
            response.on("end", () =>
              resolve({ status: response.statusCode ?? 0, ms: performance.now() - started }),
            );
          },
        );
        outgoing.on("error", (error: NodeJS.ErrnoException) =>
          resolve({ status: 0, ms: performance.now() - started, error: error.code ?? error.message }),
        );
        outgoing.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}
