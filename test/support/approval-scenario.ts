import { z } from "zod";
import { createGovernor, type KeelGovernor } from "../../src/governance/create-governor.ts";
import { createMemoryGovernanceStore } from "../../src/governance/memory-governance-store.ts";
import type { Principal } from "../../src/journal/events.ts";
import type { ModelProvider } from "../../src/models/model-provider.ts";
import type { ScriptedTurn } from "../../src/models/scripted-model-provider.ts";
import type { AgentDefinition } from "../../src/runtime/agent-definition.ts";
import { governedTools } from "../../src/runtime/governed-tools.ts";
import type { InjectionDetector } from "../../src/runtime/injection-detectors.ts";
import { startRun } from "../../src/runtime/start-run.ts";
import { createWorker, type Worker } from "../../src/runtime/worker.ts";
import { ApprovalsSection, type ApprovalsSectionInput } from "../../src/spec/approvals-section.ts";
import { GovernanceSection, type GovernanceSectionInput } from "../../src/spec/governance-section.ts";
import { GuardsSection } from "../../src/spec/guards-section.ts";
import type { KeelStore } from "../../src/store/keel-store.ts";
import { openStore } from "../../src/store/open-store.ts";
import type { RunRecord } from "../../src/store/store.ts";
import { defineTool } from "../../src/tools/tool.ts";
import { scriptedAgent } from "./scripted-agent.ts";

let scenarios = 0;

/** The customer every scenario run acts for. */
export const customer: Principal = { subject: "ada@example.com", tenant: "acme", roles: ["customer"] };

/** A person with the approver role for the scenario's agent. */
export function approver(subject: string, roles: string[] = ["approver:payments-ops"]): Principal {
  return { subject, tenant: "acme", roles };
}

/** Governance for the scenario: refunds above 100 need review, everything else runs on its own. */
export const REFUND_REVIEW: GovernanceSectionInput = {
  allowedTools: ["refund", "lookup", "send_email"],
  decisionAuthority: {
    autonomous: ["lookup", "send_email", { tool: "refund", when: "input.amount <= 100" }],
    requiresHumanReview: [
      { tool: "refund", when: "input.amount > 100", reason: "refunds above 100 need a lead" },
    ],
    forbidden: [{ tool: "refund", when: "input.amount > 500", reason: "refunds above 500 go to finance" }],
  },
  dataAccess: { allowPii: true, allowFinancial: true },
};

export type ApprovalScenario = {
  store: KeelStore;
  governor: KeelGovernor;
  worker: Worker;
  agent: AgentDefinition;
  /** Every refund the tool executed, with its arguments. */
  refunds: { orderId: number; amount: number; capability?: string }[];
  emails: { to: string; body: string }[];
  /** Start a run and wait until it is no longer queued or running. */
  run(input?: string, principal?: Principal): Promise<RunRecord>;
  /** Wait until the run leaves `running`/`queued` (after a decision resumed it). */
  settle(runId: string): Promise<RunRecord>;
  close(): Promise<void>;
};

/**
 * A governed agent with a `refund` tool held for review above 100, a worker, and a PGlite store: the model
 * proposes the turns given (by default one refund of `amount`, then an answer echoing the tool's result).
 */
export async function approvalScenario(
  options: {
    turns?: ScriptedTurn[];
    approvals?: ApprovalsSectionInput;
    riskTier?: 1 | 2 | 3;
    store?: KeelStore;
    maxSteps?: number;
    failingLookup?: boolean;
    /** The agent's guards section (spec input form); absent: the spec defaults. */
    guards?: Parameters<typeof GuardsSection.parse>[0];
    /** A note the lookup tool returns with the order, e.g. text planted in a retrieved record (or one per order). */
    lookupNote?: string | ((orderId: number) => string);
    /** The model instead of the scripted `turns` (e.g. one that follows whatever instructions it reads). */
    provider?: ModelProvider;
    /** Model-based injection detectors beside the rules (as `guards.injection.detectors` binds them). */
    injectionDetectors?: readonly InjectionDetector[];
  } = {},
): Promise<ApprovalScenario> {
  const store = options.store ?? (await openStore({}));
  const refunds: ApprovalScenario["refunds"] = [];
  const emails: ApprovalScenario["emails"] = [];
  const refund = defineTool({
    name: "refund",
    description: "Refund an order.",
    input: z.strictObject({ orderId: z.number().int(), amount: z.number().positive() }),
    sideEffect: true,
    async execute(input, context) {
      refunds.push({ ...input, ...(context.capability ? { capability: context.capability } : {}) });
      return { refunded: input.amount, orderId: input.orderId };
    },
  });
  const lookup = defineTool({
    name: "lookup",
    description: "Look an order up.",
    input: z.strictObject({ orderId: z.number().int() }),
    sideEffect: false,
    async execute(input) {
      if (options.failingLookup) throw new Error("the order service is down");
      return {
        orderId: input.orderId,
        status: "delivered",
        ...(options.lookupNote === undefined
          ? {}
          : {
              note:
                typeof options.lookupNote === "string"
                  ? options.lookupNote
                  : options.lookupNote(input.orderId),
            }),
      };
    },
  });
  const sendEmail = defineTool({
    name: "send_email",
    description: "Send an email.",
    input: z.strictObject({ to: z.string(), body: z.string() }),
    sideEffect: true,
    sendsDataOutside: true,
    async execute(input) {
      emails.push(input);
      return { sent: true };
    },
  });
  const base = scriptedAgent({
    name: `payments-${++scenarios}`,
    turns: options.turns ?? [
      {
        kind: "tool-calls",
        calls: [{ callId: "c1", tool: "refund", arguments: { orderId: 1017, amount: 281 } }],
      },
      { kind: "answer", text: "Your refund request has been handled." },
    ],
    tools: [refund, lookup, sendEmail],
    maxSteps: options.maxSteps ?? 5,
  });
  const agent: AgentDefinition = {
    ...base,
    owner: { team: "payments-ops", person: "dana@example.com" },
    riskTier: options.riskTier ?? 2,
    ...(options.approvals ? { approvals: ApprovalsSection.parse(options.approvals) } : {}),
    ...(options.guards ? { guards: GuardsSection.parse(options.guards) } : {}),
    ...(options.injectionDetectors ? { injectionDetectors: options.injectionDetectors } : {}),
    ...(options.provider ? { provider: options.provider } : {}),
  };
  const governor = createGovernor({ store: createMemoryGovernanceStore() });
  await governor.load({
    name: agent.name,
    version: agent.version,
    governance: GovernanceSection.parse(REFUND_REVIEW),
    tools: governedTools(agent.tools.values()),
    policyFiles: [],
    ...(agent.guards ? { taintGate: agent.guards.toolResults.taint } : {}),
  });
  const lookupAgent = (name: string, version: string) =>
    name === agent.name && version === agent.version ? agent : undefined;
  const worker = createWorker({
    store,
    agents: lookupAgent,
    governor,
    owner: `approval-scenario-${agent.name}`,
    leaseTtlMs: 5_000,
    claimAgents: [agent.name],
  });
  worker.start();
  const settle = async (runId: string): Promise<RunRecord> => {
    for (let i = 0; i < 500; i++) {
      const current = await store.getRun(runId);
      if (current && !["queued", "running"].includes(current.status)) {
        // A suspended run's worker releases it right after the commit; wait for that too.
        if (worker.activeRuns === 0 || current.status !== "suspended") return current;
      }
      await store.waitForEvents({ runId, afterSeq: current?.lastSeq ?? 0, timeoutMs: 20 });
    }
    throw new Error(`run ${runId} did not settle`);
  };
  return {
    store,
    governor,
    worker,
    agent,
    refunds,
    emails,
    async run(input = "Please refund order 1017", principal = customer) {
      const { run } = await startRun({ store, agent, input, principal });
      worker.poke();
      return await settle(run.runId);
    },
    settle,
    async close() {
      await worker.stop();
      governor.close();
      if (!options.store) await store.close();
    },
  };
}
