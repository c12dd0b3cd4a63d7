/**
 * `node bench/mcp-tool-overhead.ts [--quick]`: what Keel adds to an MCP tool call.
 *
 * Two copies of the same MCP server (built with the official SDK, over stdio) answer the same look-up:
 * - direct: the official client's `callTool`, nothing else — the baseline;
 * - governed: what a run does for an MCP tool call besides journaling it — the governor's decision (kill switch,
 *   identity, argument check and hash, Cedar policy, rate limit, capability token) and the tool's execution
 *   (argument check against the listed schema, the pin check against the store, the call, the result's size).
 * Calls alternate between the two, so both see the same machine. The durable commits are measured by the step
 * benchmarks (`npm run bench`); the decision rides on the commit of `tool-call-start` the runtime makes anyway.
 */
import { parseArgs } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { connectMcpTools } from "../src/connectors/index.ts";
import { hashPayload } from "../src/journal/hash.ts";
import { McpSection } from "../src/spec/index.ts";
import { createSqlMcpToolPins } from "../src/store/index.ts";
import { openStore } from "../src/store/open-store.ts";
import { executeToolCall } from "../src/tools/index.ts";
import { scriptedAgent } from "../test/support/scripted-agent.ts";
import { testGovernor } from "../test/support/test-governor.ts";
import { summarizeLatencies } from "./summarize-latencies.ts";

const { values } = parseArgs({ options: { quick: { type: "boolean", default: false } } });
const measured = values.quick ? 500 : 5_000;
const warmup = values.quick ? 100 : 500;
const fixture = new URL("../test/support/mcp-fixture-server.ts", import.meta.url).pathname;

const store = await openStore({});
const direct = new Client({ name: "bench-direct", version: "1.0.0" });
await direct.connect(
  new StdioClientTransport({ command: process.execPath, args: [fixture], stderr: "ignore" }),
);
const toolset = await connectMcpTools({
  agent: "bench-desk",
  version: "1.0.0",
  specFile: new URL("./agent.yaml", import.meta.url).pathname,
  servers: McpSection.parse({
    servers: [
      {
        name: "tickets",
        command: process.execPath,
        args: [fixture],
        tools: [{ name: "lookup_ticket", sideEffect: false, dataClasses: ["internal"] }],
      },
    ],
  }).servers,
  env: {},
  pins: createSqlMcpToolPins(store.sql),
  log: () => undefined,
});
const tool = toolset.tools[0]!;
const agent = scriptedAgent({ name: "bench-desk", turns: [], tools: [tool] });
const governor = await testGovernor([agent]);
const principal = { subject: "bench", tenant: "default", roles: [] };
const signal = new AbortController().signal;

async function directCall(index: number): Promise<void> {
  const result = await direct.callTool({ name: "lookup_ticket", arguments: { id: `T-${index % 50}` } });
  if (result.isError) throw new Error("the direct call failed");
}

const parts = { decide: [] as number[], execute: [] as number[] };

async function governedCall(index: number): Promise<void> {
  const args = { id: `T-${index % 50}` };
  const decideStarted = performance.now();
  const decision = await governor.decide(
    {
      kind: "tool-call",
      runId: `run_${index % 16}`,
      agent: { name: agent.name, version: agent.version },
      principal,
      tool: { name: tool.name, callId: `call_${index}`, arguments: args, argumentsHash: hashPayload(args) },
      dataClasses: [],
    },
    { signal },
  );
  if (decision.decision !== "allow")
    throw new Error(`the governor said ${decision.decision}: ${decision.reasons}`);
  const executeStarted = performance.now();
  parts.decide.push(executeStarted - decideStarted);
  const outcome = await executeToolCall({
    tool,
    arguments: args,
    context: { runId: `run_${index % 16}`, callId: `call_${index}`, idempotencyKey: `k${index}` },
    signal,
    timeoutMs: 30_000,
  });
  if (outcome.outcome !== "ok") throw new Error(`the governed call failed: ${JSON.stringify(outcome.error)}`);
  parts.execute.push(performance.now() - executeStarted);
}

const samples = { direct: [] as number[], governed: [] as number[] };
for (let index = 0; index < warmup + measured; index++) {
  // Alternate which goes first, so neither always follows the other's garbage.
  const order = index % 2 === 0 ? (["direct", "governed"] as const) : (["governed", "direct"] as const);
  for (const which of order) {
    const started = performance.now();
    await (which === "direct" ? directCall(index) : governedCall(index));
    if (index >= warmup) samples[which].push(performance.now() - started);
  }
}
const directSummary = summarizeLatencies(samples.direct);
const governedSummary = summarizeLatencies(samples.governed);
const added = governedSummary.p50 - directSummary.p50;
const load = (await import("node:os")).loadavg()[0]!.toFixed(2);
console.log(
  `MCP tool call, ${measured} calls each after ${warmup} warm-up, interleaved (Node ${process.version}, load ${load})`,
);
console.log(
  `  direct SDK callTool      p50 ${directSummary.p50.toFixed(3)} ms  p95 ${directSummary.p95.toFixed(3)} ms [baseline]`,
);
console.log(
  `  governed (Keel)          p50 ${governedSummary.p50.toFixed(3)} ms  p95 ${governedSummary.p95.toFixed(3)} ms  ${(governedSummary.p50 / directSummary.p50).toFixed(2)}× direct p50`,
);
console.log(
  `    of which: the governor's decision p50 ${summarizeLatencies(parts.decide.slice(warmup)).p50.toFixed(3)} ms, the tool's execution p50 ${summarizeLatencies(parts.execute.slice(warmup)).p50.toFixed(3)} ms`,
);
console.log(`  added p50 ${added.toFixed(3)} ms: ${added <= 1 ? "MET" : "NOT MET"} (goal ≤ 1 ms)`);
await toolset.close();
await direct.close();
governor.close();
await store.close();
