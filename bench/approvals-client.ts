/**
 * The approvals benchmark's HTTP client in its own process (`--client process`), as a person's browser or CLI is:
 * its requests and their parsing then share no event loop with the server and worker being timed. It takes one
 * request at a time over IPC, sends it, and answers with the status, the body and its own round-trip time.
 */

type Request = { url: string; method: "GET" | "POST"; headers?: Record<string, string>; body?: string };

process.on("message", (request: Request) => {
  const t0 = performance.now();
  void fetch(request.url, {
    method: request.method,
    ...(request.headers ? { headers: request.headers } : {}),
    ...(request.body === undefined ? {} : { body: request.body }),
  })
    .then(async (response) => {
      const text = await response.text();
      process.send!({ status: response.status, text, ms: performance.now() - t0 });
    })
    .catch((error: unknown) => process.send!({ status: 0, text: String(error), ms: performance.now() - t0 }));
});
process.on("disconnect", () => process.exit(0));
