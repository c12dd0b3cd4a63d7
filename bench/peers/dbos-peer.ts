/**
 * DBOS Transact: the agent loop as one workflow, with a step per model decision and a step per tool call, each
 * checkpointed in DBOS's system database before the workflow goes on. The system database is the benchmark's
 * own PostgreSQL on loopback; nothing else is configured (no Conductor, no OTLP), and the pool is DBOS's
 * default. DBOS is a process-wide singleton, so this runs in a process of its own.
 */
import { DBOS } from "@dbos-inc/dbos-sdk";
import pg from "pg";
import { stepDurations } from "../bench-agent.ts";
import {
  ECHO_INPUT,
  expectEveryRunCalled,
  recordToolCall,
  type ScriptedDecision,
  scriptedDecision,
} from "./agent-script.ts";
import { type PeerPlan, type PeerSystem, runPhases } from "./peer-system.ts";

type Message =
  | { role: "user"; content: string }
  | { role: "assistant"; decision: ScriptedDecision }
  | { role: "tool"; callId: string; content: unknown };

export async function openDbosPeer(databaseUrl: string, plan: PeerPlan): Promise<PeerSystem> {
  const toolCallTimes = new Map<string, number[]>();
  let runs = 0;

  async function agentLoop(input: string): Promise<string> {
    const runId = DBOS.workflowID;
    if (!runId) throw new Error("agentLoop ran outside a workflow");
    const messages: Message[] = [{ role: "user", content: input }];
    for (;;) {
      const turn = messages.filter((message) => message.role === "assistant").length + 1;
      const decision = await DBOS.runStep(async () => scriptedDecision(turn, plan.toolSteps), {
        name: "model",
      });
      if (decision.kind === "answer") return decision.text;
      messages.push({ role: "assistant", decision });
      for (const call of decision.calls) {
        const result = await DBOS.runStep(
          async () => {
            const { step } = ECHO_INPUT.parse(call.arguments);
            recordToolCall(toolCallTimes, runId);
            return { step };
          },
          { name: call.tool },
        );
        messages.push({ role: "tool", callId: call.callId, content: result });
      }
    }
  }
  const workflow = DBOS.registerWorkflow(agentLoop, { name: "agentLoop" });
  DBOS.setConfig({
    name: "keel-peer-bench",
    systemDatabaseUrl: databaseUrl,
    logLevel: "error",
    enableOTLP: false,
  });
  await DBOS.launch();

  const expected = `done after ${plan.toolSteps} steps`;
  const runOne = async () => {
    const answer = await workflow("benchmark");
    if (answer !== expected) throw new Error(`a DBOS workflow answered ${JSON.stringify(answer)}`);
  };
  const phases = runPhases({
    runOne,
    toolCallTimes,
    plan,
    stepDurations,
    expectEveryRunCalled,
    onRuns: (count) => {
      runs += count;
    },
  });

  return {
    describe: {
      version: "DBOS Transact (@dbos-inc/dbos-sdk)",
      checkpoints: "a step per model decision and per tool call; system database pool of 10, the default",
    },
    ...phases,
    async verify() {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        const { rows } = await client.query<{ status: string; workflows: number; tool_steps: number }>(
          `SELECT w.status, count(*)::int AS workflows,
                  (SELECT count(*)::int FROM dbos.operation_outputs o
                     JOIN dbos.workflow_status s ON s.workflow_uuid = o.workflow_uuid
                    WHERE s.name = 'agentLoop' AND o.function_name = 'echo') AS tool_steps
             FROM dbos.workflow_status w WHERE w.name = 'agentLoop' GROUP BY w.status`,
        );
        const succeeded = rows.find((row) => row.status === "SUCCESS");
        if (
          rows.length !== 1 ||
          succeeded?.workflows !== runs ||
          succeeded.tool_steps !== runs * plan.toolSteps
        ) {
          throw new Error(`not every DBOS workflow succeeded with its steps: ${JSON.stringify(rows)}`);
        }
        return `${runs} workflows in SUCCESS, each with ${plan.toolSteps} echo steps checkpointed`;
      } finally {
        await client.end();
      }
    },
    close: async () => await DBOS.shutdown(),
  };
}
