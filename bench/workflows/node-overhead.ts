/**
 * Per-node orchestration overhead with no persistence: one chain of N nodes, each doing the same trivial work
 * (adding one to a counter in the state), run
 *   (a) as a plain loop of N awaited calls — the baseline;
 *   (b) by Keel's workflow interpreter over a journal that stores nothing, the nodes being governed tool calls
 *       (each stages its proposal, the governor's decision, the call's start and end, and the node's entry and
 *       end, folded into the run's state as on a real store, but neither hashed nor written: no persistence);
 *   (c) by the same interpreter with `branch` nodes, which route on the state and call nothing (what the
 *       interpreter alone costs per node);
 *   (d) by LangGraph.js: a StateGraph of the same N nodes, compiled without a checkpointer.
 * Each variant's time per node is its run's wall time divided by N, less the baseline's; the variants take turns
 * run by run, so noise on the machine falls on all of them alike.
 */
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import { z } from "zod";
import type { JournalEvent } from "../../src/journal/events.ts";
import type { AgentDefinition } from "../../src/runtime/agent-definition.ts";
import { interpret } from "../../src/runtime/interpret.ts";
import { RunJournal } from "../../src/runtime/run-journal.ts";
import { foldEvents } from "../../src/runtime/run-state.ts";
import { workflowGraph } from "../../src/runtime/workflow-graph.ts";
import type { WorkflowDefinition, WorkflowSpecInput } from "../../src/spec/index.ts";
import { defineWorkflow } from "../../src/spec/index.ts";
import type { Store } from "../../src/store/store.ts";
import { defineTool } from "../../src/tools/tool.ts";
import { allowAllGovernor } from "../allow-all-governor.ts";
import { BENCH_PRINCIPAL } from "../bench-agent.ts";
import { type LatencySummary, summarizeLatencies } from "../summarize-latencies.ts";
import { benchWorkflowAgent } from "./workflow-agent.ts";

export type NodeOverheadOptions = { nodes: number; warmupRuns: number; measuredRuns: number };

export const NODE_VARIANTS = ["direct", "keelTool", "keelBranch", "langgraph"] as const;
export type NodeVariant = (typeof NODE_VARIANTS)[number];

export type NodeOverheadResult = {
  nodes: number;
  /** Wall time per node of each variant, one sample per run. */
  perNode: Record<NodeVariant, LatencySummary>;
  /** Each variant's p50 per node less the direct loop's: what orchestration adds to one node. */
  overheadP50: Record<Exclude<NodeVariant, "direct">, number>;
};

/** The work each node does, in every variant alike. */
async function addOne(count: number): Promise<number> {
  return count + 1;
}

export async function benchNodeOverhead(options: NodeOverheadOptions): Promise<NodeOverheadResult> {
  const run: Record<NodeVariant, () => Promise<number>> = {
    direct: directLoop(options.nodes),
    keelTool: keelChain(options.nodes, "tool"),
    keelBranch: keelChain(options.nodes, "branch"),
    langgraph: langgraphChain(options.nodes),
  };
  const samples: Record<NodeVariant, number[]> = { direct: [], keelTool: [], keelBranch: [], langgraph: [] };
  for (let index = 0; index < options.warmupRuns + options.measuredRuns; index += 1) {
    // The order rotates run by run, so no variant always follows another's garbage.
    const order = NODE_VARIANTS.map((_, at) => NODE_VARIANTS[(at + index) % NODE_VARIANTS.length]!);
    for (const variant of order) {
      const started = performance.now();
      const count = await run[variant]();
      const elapsed = performance.now() - started;
      if (count !== options.nodes) throw new Error(`${variant} counted ${count}, not ${options.nodes}`);
      if (index >= options.warmupRuns) samples[variant].push(elapsed / options.nodes);
    }
  }
  const perNode = Object.fromEntries(
    NODE_VARIANTS.map((variant) => [variant, summarizeLatencies(samples[variant])]),
  ) as Record<NodeVariant, LatencySummary>;
  return {
    nodes: options.nodes,
    perNode,
    overheadP50: {
      keelTool: perNode.keelTool.p50 - perNode.direct.p50,
      keelBranch: perNode.keelBranch.p50 - perNode.direct.p50,
      langgraph: perNode.langgraph.p50 - perNode.direct.p50,
    },
  };
}

function directLoop(nodes: number): () => Promise<number> {
  return async () => {
    let count = 0;
    for (let index = 0; index < nodes; index += 1) count = await addOne(count);
    return count;
  };
}

function langgraphChain(nodes: number): () => Promise<number> {
  const State = Annotation.Root({ count: Annotation<number> });
  // biome-ignore lint/suspicious/noExplicitAny: the builder's node-name type grows with each addNode call
  let builder: any = new StateGraph(State);
  for (let index = 1; index <= nodes; index += 1) {
    builder = builder.addNode(`n${index}`, async (state: { count: number }) => ({
      count: await addOne(state.count),
    }));
  }
  builder = builder.addEdge(START, "n1");
  for (let index = 1; index < nodes; index += 1) builder = builder.addEdge(`n${index}`, `n${index + 1}`);
  builder = builder.addEdge(`n${nodes}`, END);
  const graph = builder.compile();
  return async () => {
    const final = (await graph.invoke({ count: 0 }, { recursionLimit: nodes + 10 })) as { count: number };
    return final.count;
  };
}

/**
 * Keel's chain: `tool` nodes each calling `add_one` with the counter and writing it back, or `branch` nodes that
 * each test the state and go on (the counter is then the number of branch nodes entered, read from the journal).
 */
function keelChain(nodes: number, kind: "tool" | "branch"): () => Promise<number> {
  const workflow = chainWorkflow(nodes, kind);
  const addOneTool = defineTool({
    name: "add_one",
    description: "Add one to a count.",
    input: z.object({ count: z.number().int() }),
    output: z.number().int(),
    async execute({ count }) {
      return await addOne(count);
    },
  });
  const agent = benchWorkflowAgent(workflow, [addOneTool], {
    maxSteps: nodes + 2,
    runTimeout: 60_000,
    toolTimeout: 5_000,
  });
  const graph = workflowGraph(workflow);
  // RunJournal only ever calls `append`; this one keeps nothing and answers at once.
  const nothingStored = { append: async () => [] } as unknown as Store;
  let runs = 0;
  return async () => {
    runs += 1;
    const runId = `run_chain_${kind}_${runs}`;
    const state = foldEvents([runStartEvent(runId, agent)]);
    const lease = { runId, owner: "bench-memory", token: 1, expiresAt: new Date(Date.now() + 60_000) };
    const journal = new RunJournal({ store: nothingStored, lease, state });
    await interpret(graph, {
      agent,
      journal,
      signal: new AbortController().signal,
      governor: allowAllGovernor,
    });
    if (journal.state.status !== "completed") {
      throw new Error(`the ${kind} chain ended ${journal.state.status}: ${JSON.stringify(journal.state)}`);
    }
    return kind === "tool" ? Number(journal.state.answer) : journal.state.workflow.steps - 1;
  };
}

function chainWorkflow(nodes: number, kind: "tool" | "branch"): WorkflowDefinition {
  const spec: WorkflowSpecInput["nodes"] = {};
  for (let index = 1; index <= nodes; index += 1) {
    const next = index === nodes ? "done" : `n${index + 1}`;
    spec[`n${index}`] =
      kind === "tool"
        ? { tool: { name: "add_one", args: { count: "${state.count}" } }, writes: "count", next }
        : { branch: [{ when: "state.count >= 0", to: next }, { else: "done" }] };
  }
  spec.done = { end: { output: "${state.count}" } };
  return defineWorkflow({
    name: `chain-${kind}`,
    version: "1.0.0",
    description: `A chain of ${nodes} ${kind} nodes.`,
    owner: { team: "bench" },
    riskTier: 3,
    state: { count: { type: "integer", default: 0 } },
    start: "n1",
    nodes: spec,
    limits: { maxSteps: nodes + 2 },
  });
}

function runStartEvent(runId: string, agent: AgentDefinition): JournalEvent {
  const now = new Date();
  return {
    runId,
    seq: 1,
    type: "run-start",
    at: now.toISOString(),
    payload: {
      agent: agent.name,
      agentVersion: agent.version,
      specHash: agent.versionHash,
      input: "{}",
      principal: BENCH_PRINCIPAL,
      startedAt: now.toISOString(),
      deadlineAt: new Date(now.getTime() + agent.limits.runTimeout).toISOString(),
      maxSteps: agent.limits.maxSteps,
    },
    schemaVersion: 1,
    payloadHash: "",
    prevHash: "",
    hash: "",
  };
}
