import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { z } from "zod";
import { executeToolCall, toolInputJsonSchema } from "./execute-tool-call.ts";
import { defineTool } from "./tool.ts";

const context = { runId: "run_1", callId: "call_1", idempotencyKey: "run_1:call_1" };
const live = new AbortController().signal;

const add = defineTool({
  name: "add",
  description: "Add two numbers.",
  input: z.object({ a: z.number(), b: z.number() }),
  output: z.object({ sum: z.number() }),
  async execute({ a, b }) {
    return { sum: a + b };
  },
});

describe("executeToolCall", () => {
  test("returns the validated result of a tool", async () => {
    const outcome = await executeToolCall({
      tool: add,
      arguments: { a: 2, b: 3 },
      context,
      signal: live,
      timeoutMs: 1000,
    });
    assert.deepEqual(outcome, { outcome: "ok", result: { sum: 5 } });
  });

  test("turns invalid arguments into a tool error naming the field", async () => {
    const outcome = await executeToolCall({
      tool: add,
      arguments: { a: "2" },
      context,
      signal: live,
      timeoutMs: 1000,
    });
    assert.equal(outcome.outcome, "error");
    assert.equal(outcome.outcome === "error" && outcome.error.code, "invalid_tool_arguments");
    assert.match(outcome.outcome === "error" ? outcome.error.message : "", /a: .*expected number.*; b: /i);
  });

  test("reports a thrown error as tool_failed", async () => {
    const failing = defineTool({
      name: "fail",
      description: "Always fails.",
      input: z.object({}),
      async execute() {
        throw new Error("order 9 not found");
      },
    });
    const outcome = await executeToolCall({
      tool: failing,
      arguments: {},
      context,
      signal: live,
      timeoutMs: 1000,
    });
    assert.deepEqual(outcome, {
      outcome: "error",
      error: { code: "tool_failed", message: "order 9 not found" },
    });
  });

  test("times out a tool that ignores its signal", async () => {
    const slow = defineTool({
      name: "slow",
      description: "Never finishes.",
      input: z.object({}),
      async execute() {
        await new Promise(() => undefined);
      },
    });
    const started = performance.now();
    const outcome = await executeToolCall({
      tool: slow,
      arguments: {},
      context,
      signal: live,
      timeoutMs: 50,
    });
    assert.equal(outcome.outcome === "error" && outcome.error.code, "tool_timeout");
    assert.ok(performance.now() - started < 1000);
  });

  test("aborts a tool when the run is cancelled and passes it the signal", async () => {
    const controller = new AbortController();
    let sawAbort = false;
    const waiting = defineTool({
      name: "wait",
      description: "Waits for its signal.",
      input: z.object({}),
      async execute(_input, { signal }) {
        await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()));
        sawAbort = true;
      },
    });
    setTimeout(() => controller.abort(new Error("cancelled by request")), 20);
    const outcome = await executeToolCall({
      tool: waiting,
      arguments: {},
      context,
      signal: controller.signal,
      timeoutMs: 5000,
    });
    assert.equal(outcome.outcome === "error" && outcome.error.code, "cancelled");
    assert.equal(sawAbort, true);
  });

  test("leaves no unhandled rejection when the run is aborted while the tool is being started", async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", record);
    try {
      const controller = new AbortController();
      const abortsItself = defineTool({
        name: "aborts_itself",
        description: "Aborts the run as it starts, then fails.",
        input: z.object({}),
        async execute(_input, { signal }) {
          controller.abort(new Error("killed while starting"));
          signal.throwIfAborted();
        },
      });
      const outcome = await executeToolCall({
        tool: abortsItself,
        arguments: {},
        context,
        signal: controller.signal,
        timeoutMs: 1000,
      });
      assert.equal(outcome.outcome === "error" && outcome.error.code, "cancelled");
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off("unhandledRejection", record);
    }
  });

  test("rejects output that breaks the tool's own output schema", async () => {
    const liar = defineTool({
      name: "liar",
      description: "Returns the wrong shape.",
      input: z.object({}),
      output: z.object({ count: z.number() }),
      async execute() {
        return { count: "many" } as unknown as { count: number };
      },
    });
    const outcome = await executeToolCall({
      tool: liar,
      arguments: {},
      context,
      signal: live,
      timeoutMs: 1000,
    });
    assert.equal(outcome.outcome === "error" && outcome.error.code, "invalid_tool_output");
  });

  test("describes a tool's arguments as JSON Schema for the model", () => {
    const schema = toolInputJsonSchema(add);
    assert.equal(schema.type, "object");
    assert.deepEqual(Object.keys(schema.properties as object), ["a", "b"]);
  });

  test("describes a tool the same on every turn, each time as a fresh object a caller may change", () => {
    const first = toolInputJsonSchema(add);
    const expected = z.toJSONSchema(add.input, { io: "input", unrepresentable: "any" }) as Record<
      string,
      unknown
    >;
    delete expected.$schema;
    assert.deepEqual(first, expected);
    (first.properties as Record<string, unknown>).a = "changed by a caller";
    first.extra = true;
    const second = toolInputJsonSchema(add);
    assert.notEqual(second, first);
    assert.deepEqual(second, expected);
  });
});
