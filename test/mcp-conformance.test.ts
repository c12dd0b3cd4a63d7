import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { type KeelServer, startKeelServer } from "./support/keel-server.ts";

const run = promisify(execFile);
/** The official conformance suite's command, run with this Node (24). */
const CONFORMANCE = join(
  createRequire(import.meta.url).resolve("@modelcontextprotocol/conformance/package.json"),
  "..",
  "dist",
  "index.js",
);

/**
 * The official MCP conformance suite against `keel serve`'s `/mcp` in development mode, for the server scenarios
 * that apply to a server exposing tools: initialize, ping, tools/list and DNS-rebinding protection. The others
 * test fixture tools, prompts, resources, logging, sampling and elicitation that a server of agents does not offer.
 */
describe("Keel's MCP server against the official conformance suite and the official client", () => {
  let server: KeelServer;

  before(async () => {
    server = await startKeelServer({ dataDir: mkdtempSync(join(tmpdir(), "keel-mcp-conformance-")) });
  });
  after(async () => {
    await server.stop();
  });

  for (const scenario of ["server-initialize", "ping", "tools-list", "dns-rebinding-protection"]) {
    test(`passes the ${scenario} scenario`, async () => {
      const { stdout } = await run(
        process.execPath,
        [CONFORMANCE, "server", "--url", `${server.url}/mcp`, "--scenario", scenario],
        { timeout: 120_000 },
      );
      const passed = /Passed: (\d+)\/(\d+), (\d+) failed/.exec(stdout);
      assert.ok(passed, stdout);
      assert.equal(passed[3], "0", stdout);
      assert.equal(passed[1], passed[2], stdout);
      assert.ok(Number(passed[2]) >= 1, stdout);
    });
  }

  test("the official client lists support-triage and gets its answer to an order-status question", async () => {
    const client = new Client({ name: "conformance-check", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)));
    try {
      const { tools } = await client.listTools();
      assert.ok(tools.some((tool) => tool.name === "support-triage"));
      const result = await client.callTool({
        name: "support-triage",
        arguments: { input: "Where is my order 1042?" },
      });
      const answer = result.structuredContent as { status: string; answer: string };
      assert.equal(answer.status, "completed");
      assert.match(answer.answer, /order 1042 shipped/i);
    } finally {
      await client.close();
    }
  });
});
