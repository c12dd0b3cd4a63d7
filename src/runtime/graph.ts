import type { Governor } from "../governance/index.ts";
import type { JournalEvent } from "../journal/index.ts";
import type { SessionQueries } from "../store/index.ts";
import type { AgentDefinition } from "./agent-definition.ts";
import type { ChildRuns } from "./child-runs.ts";
import type { LiveTextWriter } from "./live-text.ts";
import type { RunJournal } from "./run-journal.ts";
import type { RunState } from "./run-state.ts";

/** What a node is given: the agent, the run's journal (and through it the state) and the run's signal. */
export type NodeContext = {
  agent: AgentDefinition;
  journal: RunJournal;
  signal: AbortSignal;
  /** Decides every action before it happens. */
  governor?: Governor;
  /** Starts runs of other agents as children of this run (absent: a node that needs one fails, saying so). */
  children?: ChildRuns;
  /** Where the agent's model turns stream their text as it is written (absent: nobody in this process listens). */
  live?: LiveTextWriter;
  /** Reads a session's earlier turns, for a session's run (absent: such a run fails, saying so). */
  sessions?: SessionQueries;
  /**
   * Reads a live run's journal, for a shadow run whose side-effecting calls are answered with the live run's
   * results (absent: such calls are answered as not executed).
   */
  liveJournal?: (runId: string) => Promise<readonly JournalEvent[]>;
};

/** One kind of step in a graph. A node writes what it decides to the journal before acting on it. */
export type GraphNode = {
  readonly name: string;
  run(context: NodeContext): Promise<void>;
};

/**
 * A graph of nodes. Which node runs next is a function of the run's state alone, so replaying the journal
 * after a crash picks the same path.
 */
export type Graph = {
  readonly name: string;
  readonly nodes: Readonly<Record<string, GraphNode>>;
  next(state: RunState): string | null;
};

/** Define a graph, checking that every node is registered under its own name. */
export function defineGraph(graph: Graph): Graph {
  for (const [name, node] of Object.entries(graph.nodes)) {
    if (node.name !== name)
      throw new Error(`graph ${graph.name}: node registered as "${name}" is named "${node.name}"`);
  }
  return graph;
}
