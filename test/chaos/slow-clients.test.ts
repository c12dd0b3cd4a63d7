import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import type { RunningServer } from "../../src/server/start-server.ts";
import type { SqlStore } from "../../src/store/sql-store.ts";
import { startDefaultServer } from "../support/tenant-agents.ts";

/** Short limits, so the test waits seconds rather than the production minute. */
const TIMEOUTS = { headersMs: 600, requestMs: 2_000, bodyMs: 1_000 };
/**
 * How long after its limit a slow client's connection may stay open: Node's check interval, the half second the
 * HTTP adapter drains a refused body for, and slack for a machine busy with other tests. Without the limits the
 * connections stay open for minutes.
 */
const GRACE_MS = 2_500;

type Closed = { afterMs: number; response: string };

/**
 * A raw TCP client that sends `head` at once, then `drip` one byte every `everyMs` (or nothing, when `drip` is
 * empty) until the server closes the connection; resolves with how long that took and what the server said.
 */
function slowClient(port: number, head: string, drip: string, everyMs = 100): Promise<Closed> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect(port, "127.0.0.1");
    let response = "";
    let timer: NodeJS.Timeout | undefined;
    socket.setEncoding("utf8");
    socket.on("connect", () => {
      socket.write(head);
      let index = 0;
      if (drip !== "")
        timer = setInterval(() => {
          if (socket.writable) socket.write(drip[index++ % drip.length]!);
        }, everyMs);
    });
    socket.on("data", (chunk: string) => {
      response += chunk;
    });
    // The server may reset rather than end the connection: closed is closed.
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearInterval(timer);
      resolve({ afterMs: performance.now() - started, response });
    });
    setTimeout(() => {
      clearInterval(timer);
      socket.destroy();
      reject(
        new Error(`the server held a slow client for more than 20 s (it said: ${response.slice(0, 200)})`),
      );
    }, 20_000).unref();
  });
}

describe("slow clients", () => {
  let store: SqlStore;
  let server: RunningServer;
  let port: number;
  let host: string;

  before(async () => {
    ({ store, server } = await startDefaultServer({ timeouts: TIMEOUTS }));
    host = new URL(server.url).host;
    port = Number(new URL(server.url).port);
  });
  after(async () => {
    await server.close();
    await store.close();
  });

  /** Ordinary requests, one after another, for as long as `until` is pending; returns each one's duration. */
  async function serveMeanwhile(until: Promise<unknown>): Promise<number[]> {
    let done = false;
    void until.finally(() => {
      done = true;
    });
    const durations: number[] = [];
    while (!done) {
      const started = performance.now();
      const health = await fetch(`${server.url}/healthz`);
      assert.equal(health.status, 200);
      const run = await fetch(`${server.url}/v1/agents/default-helper/runs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ input: "hello" }),
      });
      assert.equal(run.status, 202);
      await run.text();
      durations.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return durations;
  }

  test("a client trickling its body is answered 408 and closed within the body limit, while others are served", async () => {
    const body = JSON.stringify({ input: "x".repeat(500) });
    const head =
      `POST /v1/agents/default-helper/runs HTTP/1.1\r\nHost: ${host}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    const clients = Array.from({ length: 10 }, () => slowClient(port, head, body));
    const all = Promise.all(clients);
    const served = await serveMeanwhile(all);
    for (const closed of await all) {
      assert.ok(closed.afterMs < TIMEOUTS.bodyMs + GRACE_MS, `held for ${Math.round(closed.afterMs)} ms`);
      assert.match(closed.response, /^HTTP\/1\.1 408/);
    }
    assert.ok(served.length >= 3, "requests were served while the slow clients waited");
    assert.ok(
      Math.max(...served) < 2_000,
      `the slowest request meanwhile took ${Math.round(Math.max(...served))} ms`,
    );
  });

  test("a client that stops halfway through its body is closed within the body limit", async () => {
    const head =
      `POST /v1/agents/default-helper/runs HTTP/1.1\r\nHost: ${host}\r\n` +
      `Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"input": "never fin`;
    const closed = await slowClient(port, head, "");
    assert.ok(closed.afterMs < TIMEOUTS.bodyMs + GRACE_MS, `held for ${Math.round(closed.afterMs)} ms`);
    assert.match(closed.response, /^HTTP\/1\.1 408/);
  });

  test("a client trickling its headers is closed within the headers limit, while others are served", async () => {
    const clients = Array.from({ length: 10 }, () =>
      slowClient(
        port,
        `GET /healthz HTTP/1.1\r\nHost: ${host}\r\n`,
        "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      ),
    );
    const all = Promise.all(clients);
    const served = await serveMeanwhile(all);
    for (const closed of await all)
      assert.ok(closed.afterMs < TIMEOUTS.headersMs + GRACE_MS, `held for ${Math.round(closed.afterMs)} ms`);
    assert.ok(served.length >= 2, "requests were served while the slow clients waited");
  });

  test("a chunked body that never ends is closed within the request limit", async () => {
    const head =
      `POST /v1/agents/default-helper/runs HTTP/1.1\r\nHost: ${host}\r\n` +
      "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n";
    const closed = await slowClient(port, head, "");
    assert.ok(closed.afterMs < TIMEOUTS.requestMs + GRACE_MS, `held for ${Math.round(closed.afterMs)} ms`);
  });
});
