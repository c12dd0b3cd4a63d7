import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { driveRun } from "../../test/support/drive-run.ts";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import type { JournalEvent } from "../journal/index.ts";
import { createScriptedModelProvider } from "../models/index.ts";
import { McpSection } from "../spec/index.ts";
import { createSqlMcpToolPins, type SqlStore } from "../store/index.ts";
import { openStore } from "../store/open-store.ts";
import type { Tool } from "../tools/index.ts";
import { connectMcpTools, type McpToolset } from "./index.ts";

/** The reference server the MCP project publishes to exercise clients (`@modelcontextprotocol/server-everything`). */
const EVERYTHING = join(
  createRequire(import.meta.url).resolve("@modelcontextprotocol/server-everything/package.json"),
  "..",
  "dist",
  "index.js",
);

describe("MCP tools from the official reference server (server-everything, stdio)", () => {
  let store: SqlStore;
  let toolset: McpToolset;
  const secret = "keel-secret-that-must-not-leak-0451";

  const callOnce = async (tool: string, args: Record<string, unknown>) => {
    const agent = {
      ...scriptedAgent({ name: "reference", turns: [], tools: toolset.tools as Tool[] }),
      provider: createScriptedModelProvider({
        turns: (request) =>
          request.messages.at(-1)?.role === "tool"
            ? { kind: "answer", text: "done" }
            : { kind: "tool-calls", calls: [{ callId: "c1", tool, arguments: args }] },
      }),
    };
    const { events } = await driveRun({ store, agent, input: `call ${tool}` });
    const end = events.find(
      (event): event is Extract<JournalEvent, { type: "tool-call-end" }> => event.type === "tool-call-end",
    );
    assert.ok(end);
    return end.payload;
  };

  before(async () => {
    store = await openStore({});
    // In Keel's own environment, never in the server's: the spec gives it none of Keel's variables.
    process.env.KEEL_REFERENCE_TEST_SECRET = secret;
    toolset = await connectMcpTools({
      agent: "reference",
      version: "1.0.0",
      specFile: join(import.meta.dirname, "agent.yaml"),
      servers: McpSection.parse({
        servers: [
          {
            name: "everything",
            command: process.execPath,
            args: [EVERYTHING, "stdio"],
            tools: [
              { name: "echo", sideEffect: false },
              { name: "get-sum", sideEffect: false },
              { name: "get-structured-content", sideEffect: false },
              { name: "get-tiny-image", sideEffect: false },
              { name: "get-env", sideEffect: false, dataClasses: ["secret"] },
            ],
          },
        ],
      }).servers,
      env: process.env,
      pins: createSqlMcpToolPins(store.sql),
      log: () => undefined,
    });
  });
  after(async () => {
    delete process.env.KEEL_REFERENCE_TEST_SECRET;
    await toolset.close();
    await store.close();
  });

  test("lists and pins its tools, and text, numeric and structured results come back as the server sent them", async () => {
    assert.deepEqual(
      toolset.tools.map((tool) => tool.name),
      [
        "everything_echo",
        "everything_get-sum",
        "everything_get-structured-content",
        "everything_get-tiny-image",
        "everything_get-env",
      ],
    );
    const pins = await createSqlMcpToolPins(store.sql).list("reference");
    assert.equal(pins.length, 5);
    assert.ok(pins.every((pin) => pin.refusal === null && pin.approvedHash === pin.seenHash));

    assert.deepEqual((await callOnce("everything_echo", { message: "hello" })).result, {
      content: "Echo: hello",
    });
    const sum = await callOnce("everything_get-sum", { a: 2, b: 40 });
    assert.match(String((sum.result as { content: string }).content), /42/);
    const weather = await callOnce("everything_get-structured-content", { location: "Chicago" });
    assert.equal(weather.outcome, "ok");
    assert.equal(typeof (weather.result as { temperature?: unknown }).temperature, "number");
  });

  test("arguments that do not fit the server's schema are refused before the call, naming the field", async () => {
    const refused = await callOnce("everything_get-sum", { a: "two", b: 40 });
    assert.equal(refused.outcome, "error");
    // The governor checks arguments against the tool's schema before anything else, and denies naming the field.
    assert.equal(refused.error?.code, "denied");
    assert.match(String(refused.error?.message), /\ba: /);
  });

  test("an image is described, not carried, and the server never sees Keel's environment", async () => {
    const image = await callOnce("everything_get-tiny-image", {});
    assert.equal(image.outcome, "ok");
    const parts = (image.result as { parts?: { type: string; mimeType?: string }[] }).parts ?? [];
    assert.ok(parts.some((part) => part.type === "image" && part.mimeType === "image/png"));
    assert.ok(JSON.stringify(image.result).length < 2_000, "no image bytes in the journal");
    const env = await callOnce("everything_get-env", {});
    assert.equal(env.outcome, "ok");
    assert.ok(!JSON.stringify(env.result).includes(secret), "Keel's environment did not reach the server");
    assert.ok(!JSON.stringify(env.result).includes("KEEL_REFERENCE_TEST_SECRET"));
  });
});
