import fc from "fast-check";
import { z } from "zod";
import { createScriptedModelProvider } from "../../src/models/scripted-model-provider.ts";
import type { AgentDefinition } from "../../src/runtime/agent-definition.ts";
import { defineWorkflow, type WorkflowSpecInput } from "../../src/spec/index.ts";
import { defineTool, type Tool } from "../../src/tools/tool.ts";
import { scriptedAgent } from "./scripted-agent.ts";

// Random valid workflow graphs for the crash property (src/runtime/workflow-crash-property.test.ts): a shape drawn
// by fast-check (so a failure shrinks to a small graph), the workflow it describes, and the agents that run it — the
// parent, whose decide nodes a scripted model answers, and `noter`, the child agent its agent nodes and branches run.

/** What a fan-out branch or a map's body calls: a pure tool, a side-effecting one, or the child agent. */
type Call = "add" | "record" | "agent";

/** A generated join policy of a fan-out. */
type Join = { kind: "all" | "any" | "best-effort" } | { kind: "quorum"; count: number };

/** One generated node: what it does, and the indexes of later nodes it goes to (forward only: every graph ends). */
type NodeShape =
  | { kind: "add"; next: number }
  | { kind: "record"; next: number }
  | { kind: "branch"; threshold: number; above: number; otherwise: number }
  | { kind: "decide"; left: number; right: number }
  | { kind: "agent"; next: number }
  | {
      kind: "parallel";
      branches: { call: Call; fails: boolean }[];
      join: Join;
      concurrency: number | null;
      next: number;
    }
  | { kind: "map"; body: Exclude<Call, "add">; join: Join; concurrency: number | null; next: number }
  | { kind: "wait"; on: "signal" | "timer"; next: number };

export type GraphShape = { nodes: NodeShape[]; input: number; items: string[] };

/** A later node's index, or one of the two end nodes (n and n + 1), from a random fraction. */
function later(from: number, count: number, pick: number): number {
  const choices = count + 2 - (from + 1);
  return from + 1 + Math.min(choices - 1, Math.floor(pick * choices));
}

const KINDS = ["add", "record", "branch", "decide", "agent", "parallel", "map", "wait"] as const;
const MAX_NODES = 6;

/** The settings a node of any kind may draw on, generated for every slot so shrinking keeps shapes comparable. */
const nodeSettings = fc.record({
  first: fc.double({ min: 0, max: 1, noNaN: true }),
  second: fc.double({ min: 0, max: 1, noNaN: true }),
  threshold: fc.integer({ min: 0, max: 40 }),
  branches: fc.array(
    fc.record({ call: fc.constantFrom<Call>("add", "record", "agent"), fails: fc.boolean() }),
    {
      minLength: 2,
      maxLength: 3,
    },
  ),
  body: fc.constantFrom<"record" | "agent">("record", "agent"),
  join: fc.constantFrom("all", "any", "best-effort", "quorum"),
  quorum: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
  concurrency: fc.option(fc.integer({ min: 1, max: 3 }), { nil: null }),
  on: fc.constantFrom<"signal" | "timer">("signal", "timer"),
});

export const graphShapes: fc.Arbitrary<GraphShape> = fc
  .record({
    kinds: fc.array(fc.constantFrom(...KINDS), { minLength: 1, maxLength: MAX_NODES }),
    settings: fc.array(nodeSettings, { minLength: MAX_NODES, maxLength: MAX_NODES }),
    input: fc.integer({ min: 1, max: 9 }),
    items: fc.array(fc.constantFrom("a", "b", "c", "bad"), { maxLength: 3 }),
  })
  .map(({ kinds, settings, input, items }) => ({
    input,
    items,
    nodes: kinds.map((kind, index): NodeShape => shapeOf(kind, index, kinds.length, settings[index]!, items)),
  }));

function shapeOf(
  kind: (typeof KINDS)[number],
  index: number,
  count: number,
  settings: typeof nodeSettings extends fc.Arbitrary<infer T> ? T : never,
  items: readonly string[],
): NodeShape {
  const next = later(index, count, settings.first);
  switch (kind) {
    case "add":
    case "record":
    case "agent":
      return { kind, next };
    case "branch":
      return {
        kind,
        threshold: settings.threshold,
        above: next,
        otherwise: later(index, count, settings.second),
      };
    case "decide":
      return { kind, left: next, right: later(index, count, settings.second) };
    case "wait":
      return { kind, on: settings.on, next };
    case "parallel":
    case "map": {
      const branches =
        kind === "parallel"
          ? settings.branches.map((branch) => ({
              call: branch.call,
              fails: branch.call === "record" && branch.fails,
            }))
          : items.map((item) => ({
              call: settings.body as Call,
              fails: settings.body === "record" && item === "bad",
            }));
      const size = Math.max(1, branches.length);
      const join: Join =
        settings.join === "quorum"
          ? { kind: "quorum", count: 1 + Math.floor(settings.quorum * size) }
          : { kind: settings.join as "all" | "any" | "best-effort" };
      // Where the join's verdict would depend on which of several running children ends first — the first success
      // under any or a quorum, a failure under all cancelling a child still running — children run one at a time:
      // an uninterrupted run is then as deterministic as the crashed one must be, and the comparison is fair.
      const racy =
        branches.some((branch) => branch.call === "agent") &&
        (join.kind === "any" ||
          join.kind === "quorum" ||
          (join.kind === "all" && branches.some((b) => b.fails)));
      const concurrency = racy ? 1 : settings.concurrency;
      return kind === "parallel"
        ? { kind, branches, join, concurrency, next }
        : { kind, body: settings.body, join, concurrency, next };
    }
  }
}

function nodeName(index: number, count: number): string {
  if (index === count) return "finish";
  if (index === count + 1) return "stop";
  return `n${index}`;
}

function joinSpec(join: Join): "all" | "any" | "best-effort" | { quorum: number } {
  return join.kind === "quorum" ? { quorum: join.count } : join.kind;
}

/** A branch step's call: a tool from the state, or the child agent. */
function callSpec(call: Call, note: string) {
  switch (call) {
    case "add":
      return { tool: { name: "add", args: { amount: "${input.x}" } } };
    case "record":
      return { tool: { name: "record", args: { note } } };
    case "agent":
      return { agent: { name: "noter", input: note } };
  }
}

/**
 * The workflow a shape describes: a counter every `add` raises, a list every `record` or `agent` node appends to, and
 * a field per fan-out branch or map (so no two branches write one field, whose value would then depend on which
 * settled first).
 */
function workflowOf(shape: GraphShape) {
  const count = shape.nodes.length;
  const nodes: WorkflowSpecInput["nodes"] = {};
  const state: WorkflowSpecInput["state"] = {
    total: { type: "integer", reducer: "sum", default: 0 },
    notes: { type: "array", reducer: "append", default: [] },
    side: { type: "string", default: "" },
  };
  for (const [index, node] of shape.nodes.entries()) {
    const name = nodeName(index, count);
    switch (node.kind) {
      case "add":
        nodes[name] = {
          tool: { name: "add", args: { amount: "${input.x}" } },
          writes: "total",
          next: nodeName(node.next, count),
        };
        break;
      case "record":
        nodes[name] = {
          tool: { name: "record", args: { note: `${name} at \${state.total}` } },
          writes: "notes",
          next: nodeName(node.next, count),
        };
        break;
      case "agent":
        nodes[name] = {
          agent: { name: "noter", input: `${name} at \${state.total}` },
          writes: "notes",
          next: nodeName(node.next, count),
        };
        break;
      case "branch":
        nodes[name] = {
          branch: [
            { when: `state.total > ${node.threshold}`, to: nodeName(node.above, count) },
            { else: nodeName(node.otherwise, count) },
          ],
        };
        break;
      case "decide":
        nodes[name] = {
          decide: {
            prompt: "Pick a side.",
            input: "total ${state.total}",
            labels: ["left", "right"],
            fallback: "stop",
          },
          writes: "side",
          next: { left: nodeName(node.left, count), right: nodeName(node.right, count) },
        };
        break;
      case "wait":
        nodes[name] = {
          wait: node.on === "signal" ? { signal: `go-${name}` } : { for: "30ms" },
          next: nodeName(node.next, count),
        };
        break;
      case "parallel": {
        const branches: Record<string, unknown> = {};
        for (const [at, branch] of node.branches.entries()) {
          const key = `b${at}`;
          const field = `${name}_${key}`;
          if (branch.call !== "add") state[field] = { type: "string", default: "" };
          branches[key] = {
            ...callSpec(branch.call, `${branch.fails ? "bad " : ""}${name}.${key} at \${state.total}`),
            writes: branch.call === "add" ? "total" : field,
          };
        }
        state[`${name}_failed`] = { type: "array", default: [] };
        nodes[name] = {
          parallel: {
            branches,
            join: joinSpec(node.join),
            failures: `${name}_failed`,
            ...(node.concurrency === null ? {} : { concurrency: node.concurrency }),
          },
          next: nodeName(node.next, count),
        } as WorkflowSpecInput["nodes"][string];
        break;
      }
      case "map":
        state[name] = { type: "array", default: [] };
        state[`${name}_failed`] = { type: "array", default: [] };
        nodes[name] = {
          map: {
            over: "input.items",
            do: callSpec(node.body, "${item}"),
            join: joinSpec(node.join),
            failures: `${name}_failed`,
            ...(node.concurrency === null ? {} : { concurrency: node.concurrency }),
          },
          writes: name,
          next: nodeName(node.next, count),
        } as WorkflowSpecInput["nodes"][string];
        break;
    }
  }
  // The answer shows the whole state, so equal answers mean equal final states.
  const everything = Object.keys(state)
    .map((field) => `${field}=\${state.${field}}`)
    .join("; ");
  nodes.finish = { end: { output: `finished: ${everything}` } };
  nodes.stop = { end: { output: `stopped: ${everything}` } };
  // Nodes no edge reaches are left out, as validation requires; start is always n0.
  const reachable = new Set<string>();
  const queue = ["n0"];
  while (queue.length > 0) {
    const name = queue.pop()!;
    if (reachable.has(name)) continue;
    reachable.add(name);
    const node = nodes[name]!;
    if (node.branch) for (const item of node.branch) queue.push("to" in item ? item.to : item.else);
    if (node.decide) queue.push(node.decide.fallback);
    if (typeof node.next === "string") queue.push(node.next);
    else if (node.next) queue.push(...Object.values(node.next));
  }
  return defineWorkflow({
    name: "random-graph",
    version: "1.0.0",
    description: "A generated workflow.",
    owner: { team: "qa" },
    riskTier: 3,
    // Declared because decide nodes ask a model; the agent's scripted model is what answers them.
    model: { provider: "rules", id: "rules" },
    state,
    start: "n0",
    nodes: Object.fromEntries(Object.entries(nodes).filter(([name]) => reachable.has(name))),
    limits: { maxSteps: 20 },
  });
}

/** The world the side-effecting tools act on: what they applied, and how often they ran, by idempotency key. */
export type World = { applied: Map<string, string>; executions: Map<string, number> };

/** A side-effecting tool over the world: applies its text once per idempotency key, refuses text starting `bad`. */
function effectTool(name: string, field: "note" | "text", world: World): Tool {
  return defineTool({
    name,
    description: "Records a line once per idempotency key; refuses a line that starts with bad.",
    input: z.object({ [field]: z.string() }) as z.ZodType<Record<string, string>>,
    output: z.string(),
    sideEffect: true,
    async execute(input, { idempotencyKey }) {
      const line = input[field]!;
      world.executions.set(idempotencyKey, (world.executions.get(idempotencyKey) ?? 0) + 1);
      if (line.startsWith("bad")) throw new Error(`${line} is refused`);
      if (!world.applied.has(idempotencyKey)) world.applied.set(idempotencyKey, line);
      return world.applied.get(idempotencyKey)!;
    },
    async reconcile(_input, { idempotencyKey }) {
      const line = world.applied.get(idempotencyKey);
      return line === undefined ? { applied: false } : { applied: true, result: line };
    },
  });
}

function toolsFor(world: World): Tool[] {
  const add = defineTool({
    name: "add",
    description: "Returns the amount, for the state's sum.",
    input: z.object({ amount: z.number().int() }),
    output: z.number().int(),
    async execute({ amount }) {
      return amount;
    },
  });
  return [add, effectTool("record", "note", world)];
}

/** The parent: the generated workflow, its decide nodes answered by a scripted model. */
export function agentFor(shape: GraphShape, world: World): AgentDefinition {
  // The decision follows the subject's number: even totals go left. Deterministic, so both runs decide alike.
  const model = createScriptedModelProvider({
    turns: (request) => {
      const subject = String(request.messages.at(-1)?.content ?? "");
      const total = Number(/total (\d+)/.exec(subject)?.[1] ?? 0);
      return { kind: "answer", text: total % 2 === 0 ? "left" : "right" };
    },
  });
  return {
    ...scriptedAgent({ name: "random-graph", turns: [], tools: toolsFor(world), maxSteps: 20 }),
    provider: model,
    workflow: workflowOf(shape),
  };
}

/**
 * The child agent: a small agent loop whose model calls `note` with the run's input, then answers with what the
 * tool returned (or that it could not, when the tool refused).
 */
export function noterFor(world: World): AgentDefinition {
  const model = createScriptedModelProvider({
    turns: (request) => {
      const input = String(request.messages.find((message) => message.role === "user")?.content ?? "");
      const result = request.messages.find((message) => message.role === "tool");
      if (!result)
        return { kind: "tool-calls", calls: [{ callId: "c1", tool: "note", arguments: { text: input } }] };
      return { kind: "answer", text: result.isError ? `could not note ${input}` : `noted ${input}` };
    },
  });
  return {
    ...scriptedAgent({ name: "noter", turns: [], tools: [effectTool("note", "text", world)], maxSteps: 5 }),
    provider: model,
  };
}
