import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { createNodeHttpFetch } from "./node-http-fetch.ts";

type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

describe("the node:http fetch for non-streamed model calls", () => {
  let server: Server;
  let base: string;
  let handler: Handler = () => {};
  before(async () => {
    server = createServer((request, response) => {
      let body = "";
      request.setEncoding("utf8");
      request.on("data", (chunk: string) => {
        body += chunk;
      });
      request.on("end", () => handler(request, body, response));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test("posts the body with its headers and answers status, headers and body as fetch would", async () => {
    handler = (request, body, response) => {
      response.writeHead(201, { "content-type": "application/json", "x-echo": request.headers["x-key"] });
      response.end(JSON.stringify({ got: JSON.parse(body), method: request.method }));
    };
    const fetchOverHttp = createNodeHttpFetch();
    const init = {
      method: "POST",
      headers: { "content-type": "application/json", "x-key": "k1" },
      body: JSON.stringify({ model: "m", stream: false }),
    };
    const ours = await fetchOverHttp(`${base}/v1/chat/completions`, init);
    const platform = await fetch(`${base}/v1/chat/completions`, init);
    assert.equal(ours.status, platform.status);
    assert.equal(ours.headers.get("x-echo"), "k1");
    assert.equal(ours.headers.get("content-type"), platform.headers.get("content-type"));
    assert.deepEqual(await ours.json(), await platform.json());
  });

  test("decompresses a gzip answer", async () => {
    handler = (_request, _body, response) => {
      response.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" });
      response.end(gzipSync(JSON.stringify({ ok: true })));
    };
    const response = await createNodeHttpFetch()(`${base}/x`, { method: "POST", body: "{}" });
    assert.deepEqual(await response.json(), { ok: true });
  });

  test("hands a streamed call to the platform fetch", async () => {
    const seen: string[] = [];
    const fallback: typeof fetch = async (input, init) => {
      seen.push(String(init?.body));
      return await fetch(input, init);
    };
    handler = (_request, _body, response) => response.end("data: [DONE]\n\n");
    const fetchOverHttp = createNodeHttpFetch({ fallback });
    await (await fetchOverHttp(`${base}/x`, { method: "POST", body: '{"model":"m","stream":true}' })).text();
    await (await fetchOverHttp(`${base}/x`, { method: "POST", body: '{"model":"m","stream":false}' })).text();
    assert.deepEqual(seen, ['{"model":"m","stream":true}'], "only the streamed call went to the fallback");
  });

  test("rejects with the signal's reason when the caller aborts a call the server never answers", async () => {
    handler = () => {};
    const controller = new AbortController();
    const pending = createNodeHttpFetch()(`${base}/hang`, {
      method: "POST",
      body: "{}",
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(new DOMException("stop", "AbortError")), 20);
    await assert.rejects(pending, (error: Error) => error.name === "AbortError");
  });

  test("rejects a connection it cannot make as fetch does, with the socket's error as the cause", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await assert.rejects(
      createNodeHttpFetch()(`http://127.0.0.1:${port}/x`, { method: "POST", body: "{}" }),
      (error: Error) =>
        error instanceof TypeError &&
        error.message === "fetch failed" &&
        (error.cause as { code?: string }).code === "ECONNREFUSED",
    );
  });
});
