import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { type ServerType, serve } from "@hono/node-server";
import { Hono } from "hono";
import { errorResponse } from "./http-error.ts";
import { validateJsonBody } from "./validate-json-body.ts";

/**
 * The body reader over a real socket, as Node's server hands requests to Hono: a declared length is read in one
 * piece, a chunked body is counted as it streams, and the handler reads what was checked, once more or as parsed.
 */
describe("validateJsonBody over a socket", () => {
  let server: ServerType;
  let port = 0;
  const seen: { text: string; value: unknown; again: string }[] = [];

  before(async () => {
    const app = new Hono();
    app.onError((error, context) => errorResponse(context, error, () => undefined));
    app.use(validateJsonBody({ readTimeoutMs: 300 }));
    app.post("/echo", async (context) => {
      const checked = context.get("checkedBody");
      // A handler that reads the body itself gets the same text, though the socket's stream is spent.
      seen.push({ text: checked?.text ?? "", value: checked?.value, again: await context.req.text() });
      return context.json({ ok: true });
    });
    server = await new Promise<ServerType>((resolve) => {
      const created = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(created));
    });
    const address = server.address();
    port = typeof address === "object" && address ? address.port : 0;
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  /** Write raw request bytes, in parts with pauses between them, and read whatever comes back until close. */
  async function exchange(parts: (string | Buffer | number)[], end = true): Promise<string> {
    const socket = connect(port, "127.0.0.1");
    const received: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    const closed = new Promise<void>((resolve) => {
      socket.on("close", () => resolve());
      socket.on("error", () => resolve());
    });
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    for (const part of parts) {
      if (typeof part === "number") await new Promise((resolve) => setTimeout(resolve, part));
      else if (!socket.destroyed) socket.write(part);
    }
    if (end) socket.end();
    const answered = await Promise.race([
      closed.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5_000)),
    ]);
    socket.destroy();
    assert.ok(answered || received.length > 0, "the server answered or closed the connection");
    return Buffer.concat(received).toString("latin1");
  }

  const head = (headers: string) =>
    `POST /echo HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-type: application/json\r\n${headers}\r\n`;

  test("reads a body of declared length, and the handler gets the text and the parsed value", async () => {
    seen.length = 0;
    const body = JSON.stringify({ decision: "approve", note: "é ✓" });
    const answer = await exchange([head(`content-length: ${Buffer.byteLength(body)}\r\n`), body]);
    assert.match(answer, /^HTTP\/1\.1 200/);
    assert.deepEqual(seen, [{ text: body, value: { decision: "approve", note: "é ✓" }, again: body }]);
  });

  test("reads a chunked body of no declared length", async () => {
    seen.length = 0;
    const answer = await exchange([
      head("transfer-encoding: chunked\r\n"),
      '5\r\n{"a":\r\n',
      20,
      "2\r\n1}\r\n0\r\n\r\n",
    ]);
    assert.match(answer, /^HTTP\/1\.1 200/);
    assert.deepEqual(seen, [{ text: '{"a":1}', value: { a: 1 }, again: '{"a":1}' }]);
  });

  test("answers 408 when a declared body does not arrive in time, and 413 when a chunked one grows too large", async () => {
    seen.length = 0;
    const slow = await exchange([head("content-length: 100\r\n"), '{"a":', 1_000], false);
    assert.match(slow, /^HTTP\/1\.1 408/);
    assert.match(slow, /request_timeout/);
    const chunk = `${"x".repeat(64 * 1024)}`;
    const parts: string[] = [head("transfer-encoding: chunked\r\n")];
    for (let index = 0; index < 20; index++) parts.push(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    const large = await exchange(parts, false);
    assert.match(large, /^HTTP\/1\.1 413/);
    assert.match(large, /payload_too_large/);
    assert.deepEqual(seen, [], "no handler ran");
  });

  test("refuses bytes that are not UTF-8 with 400 naming the body, and a declared length over the limit unread", async () => {
    seen.length = 0;
    const bad = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]);
    const answer = await exchange([head(`content-length: ${bad.length}\r\n`), bad]);
    assert.match(answer, /^HTTP\/1\.1 400/);
    assert.match(answer, /not valid UTF-8/);
    const declared = await exchange([head(`content-length: ${2 * 1024 * 1024}\r\n`)], false);
    assert.match(declared, /^HTTP\/1\.1 413/);
    assert.deepEqual(seen, []);
  });

  test("a client that goes away mid-body leaves no handler run and the server answering others", async () => {
    seen.length = 0;
    await exchange([head("content-length: 50\r\n"), '{"a":'], true);
    const body = '{"b":2}';
    const answer = await exchange([head(`content-length: ${body.length}\r\n`), body]);
    assert.match(answer, /^HTTP\/1\.1 200/);
    assert.deepEqual(
      seen.map((entry) => entry.value),
      [{ b: 2 }],
    );
  });
});
