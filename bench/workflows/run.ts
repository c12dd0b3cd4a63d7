/**
 * `npm run bench:workflows [-- --quick] [-- --nodes N] [-- --branches B] [-- --runs R]`: Keel's workflow orchestration against
 * LangGraph.js, measured in the same run and printed as ratios:
 *   1. the overhead of one node with no persistence, over a chain of N nodes (default 50);
 *   2. a durable fan-out of B branches (default 100) joined into one list, Keel on PostgreSQL against LangGraph
 *      with its PostgreSQL checkpointer, each in its own database on one server this starts with durable settings;
 *      R measured runs of each (default 15), taking turns.
 */
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import pg from "pg";
import { openStore } from "../../src/store/open-store.ts";
import { startTemporaryPostgres } from "../../test/support/temporary-postgres.ts";
import { announceMachine, reportMachineLoad } from "../machine-cpu.ts";
import { benchFanOut } from "./fan-out.ts";
import { benchNodeOverhead } from "./node-overhead.ts";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    nodes: { type: "string" },
    branches: { type: "string" },
    runs: { type: "string" },
  },
});
const nodes = positiveInteger("--nodes", values.nodes ?? "50");
const branches = positiveInteger("--branches", values.branches ?? "100");
const fanOutRuns = positiveInteger("--runs", values.runs ?? (values.quick ? "3" : "15"));

const machine = announceMachine("Keel workflows against LangGraph.js");
const µs = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;

const overhead = await benchNodeOverhead({
  nodes,
  warmupRuns: values.quick ? 5 : 30,
  measuredRuns: values.quick ? 20 : 200,
});
console.log(
  `\n1. Per-node orchestration, no persistence (a chain of ${nodes} nodes; time per node, p50 and p95):`,
);
for (const [variant, summary] of Object.entries(overhead.perNode)) {
  console.log(`   ${variant.padEnd(11)} ${µs(summary.p50).padStart(10)}  p95 ${µs(summary.p95)}`);
}
const { keelTool, keelBranch, langgraph } = overhead.overheadP50;
console.log(
  `   added per node (less the direct loop): Keel tool node ${µs(keelTool)}, Keel branch node ${µs(keelBranch)}, LangGraph ${µs(langgraph)}`,
);
console.log(
  `   Keel ÷ LangGraph: tool node ${(keelTool / langgraph).toFixed(3)}×, branch node ${(keelBranch / langgraph).toFixed(3)}× (goal ≤ 0.5×)`,
);

const server = await startTemporaryPostgres({ durable: true });
try {
  const keelUrl = await createDatabase(server.url, "keel");
  const langgraphUrl = await createDatabase(server.url, "langgraph");
  const keelStore = await openStore({ databaseUrl: keelUrl });
  try {
    const fanOut = await benchFanOut({
      branches,
      warmupRuns: values.quick ? 1 : 3,
      measuredRuns: fanOutRuns,
      keelStore,
      langgraphUrl,
    });
    const ms = (value: number) => `${value.toFixed(1)} ms`;
    console.log(
      `\n2. Durable fan-out of ${branches} branches on PostgreSQL (wall time per run, p50 and p95):`,
    );
    console.log(
      `   Keel (map node)            ${ms(fanOut.keel.p50).padStart(9)}  p95 ${ms(fanOut.keel.p95)}`,
    );
    console.log(
      `   LangGraph (Send, sync)     ${ms(fanOut.langgraph.p50).padStart(9)}  p95 ${ms(fanOut.langgraph.p95)}`,
    );
    console.log(`   Keel ÷ LangGraph: ${fanOut.ratioP50.toFixed(3)}× (goal ≤ 0.5×)`);
    console.log(`   checked: Keel ${fanOut.verified.keel}; LangGraph ${fanOut.verified.langgraph}`);
  } finally {
    await keelStore.close();
  }
} finally {
  await server.stop();
}
reportMachineLoad(machine);

async function createDatabase(serverUrl: string, prefix: string): Promise<string> {
  const name = `${prefix}_${randomBytes(4).toString("hex")}`;
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

function positiveInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 2) throw new Error(`${flag} must be an integer ≥ 2, not ${text}`);
  return value;
}
