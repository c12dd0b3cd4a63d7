import type { ModelDecision, NewEvent, RunStatus } from "../../src/journal/events.ts";
import { hashPayload } from "../../src/journal/hash.ts";
import type { Store } from "../../src/store/store.ts";

/** One tool call in a synthetic run: what the governor said and how it ended. */
export type SyntheticCall = { tool: string; outcome: "ok" | "failed" | "denied" | "review" };

/** A run written straight to the journal through the store (no model, no worker): for queries and benchmarks. */
export type SyntheticRun = {
  agent: string;
  version?: string;
  tenant?: string;
  /** Tool calls per model turn; a final answering turn follows unless the run ends otherwise. */
  turns: readonly (readonly SyntheticCall[])[];
  status?: Extract<RunStatus, "completed" | "failed" | "cancelled" | "budget_exceeded">;
  model?: string;
  /** Dollars per model call. */
  costPerCall?: number;
  inputTokens?: number;
  traceparent?: string;
};

let counter = 0;

/** The events a synthetic run appends after its `run-start`, in journal order. */
export function syntheticEvents(run: SyntheticRun): NewEvent[] {
  const model = run.model ?? "claude-sonnet-4-5-20250929";
  const usd = run.costPerCall ?? 0.0125;
  const input = run.inputTokens ?? 1_200;
  const events: NewEvent[] = [];
  let step = 0;
  const modelCall = (phase: "planning" | "execution" | "error_recovery", decision: ModelDecision) => {
    step += 1;
    events.push(
      { type: "step-start", payload: { step, node: "model" } },
      {
        type: "model-call-start",
        payload: {
          step,
          provider: "anthropic",
          model,
          offline: false,
          phase,
          routing: { reason: "default model" },
        },
      },
      {
        type: "policy-decision",
        payload: {
          action: `model-call:anthropic/${model}`,
          decision: "allow",
          reasons: [],
          target: `anthropic/${model}`,
        },
      },
      {
        type: "model-call-end",
        payload: {
          step,
          provider: "anthropic",
          model,
          outcome: "ok",
          decision,
          usage: { inputTokens: input, outputTokens: 80, cacheReadTokens: Math.floor(input / 2) },
          durationMs: 420,
          phase,
          cost: { usd, priceTableVersion: "2026-11", source: "table" },
        },
      },
    );
  };
  let lastFailed = false;
  for (const turn of run.turns) {
    const calls = turn.map((call, index) => ({
      ...call,
      callId: `c${step + 1}_${index}`,
      arguments: { n: index },
    }));
    modelCall(step === 0 ? "planning" : lastFailed ? "error_recovery" : "execution", {
      kind: "tool-calls",
      calls: calls.map((call) => ({ callId: call.callId, tool: call.tool, arguments: call.arguments })),
    });
    lastFailed = false;
    for (const call of calls) {
      events.push({
        type: "tool-call-propose",
        payload: {
          step,
          callId: call.callId,
          tool: call.tool,
          arguments: call.arguments,
          argumentsHash: hashPayload(call.arguments),
        },
      });
    }
    for (const call of calls) {
      const decision = call.outcome === "denied" ? "deny" : call.outcome === "review" ? "review" : "allow";
      events.push({
        type: "policy-decision",
        payload: {
          callId: call.callId,
          action: "tool-call",
          decision,
          reasons: decision === "allow" ? [] : ["policy says so"],
          target: call.tool,
          ...(decision === "deny" ? { code: "forbidden", stage: "policy" } : {}),
          policies: ["p1"],
        },
      });
      if (call.outcome === "denied") {
        lastFailed = true;
        events.push({
          type: "tool-call-end",
          payload: {
            step,
            callId: call.callId,
            tool: call.tool,
            outcome: "error",
            error: { code: "denied", message: "denied" },
            durationMs: 0,
          },
        });
        continue;
      }
      if (call.outcome === "review") {
        events.push(
          {
            type: "run-suspend",
            payload: {
              reason: "waiting for human review",
              pendingAction: {
                kind: "tool-call",
                callId: call.callId,
                tool: call.tool,
                argumentsHash: hashPayload(call.arguments),
                policies: ["p1"],
                reasons: ["needs review"],
              },
            },
          },
          { type: "run-resume", payload: { reason: "approved", worker: "synthetic" } },
        );
      }
      events.push({
        type: "tool-call-start",
        payload: { step, callId: call.callId, tool: call.tool, idempotencyKey: call.callId, attempt: 1 },
      });
      events.push(
        call.outcome === "failed"
          ? {
              type: "tool-call-end",
              payload: {
                step,
                callId: call.callId,
                tool: call.tool,
                outcome: "error",
                error: { code: "tool_failed", message: "boom" },
                durationMs: 35,
              },
            }
          : {
              type: "tool-call-end",
              payload: {
                step,
                callId: call.callId,
                tool: call.tool,
                outcome: "ok",
                result: { ok: true },
                durationMs: 35,
              },
            },
      );
      if (call.outcome === "failed") lastFailed = true;
    }
  }
  const status = run.status ?? "completed";
  if (status === "completed") {
    modelCall(lastFailed ? "error_recovery" : "execution", { kind: "answer", text: "done" });
    events.push({ type: "run-end", payload: { status, answer: "done", steps: step } });
  } else {
    events.push({
      type: "run-end",
      payload: { status, error: { code: status, message: `the run ended ${status}` }, steps: step },
    });
  }
  return events;
}

/** Create a synthetic run and append its events; returns its id. */
export async function appendSyntheticRun(store: Store, run: SyntheticRun): Promise<string> {
  const runId = await createSyntheticRun(store, run);
  await appendSyntheticEvents(store, runId, run);
  return runId;
}

/**
 * A synthetic run tree: the parent created first, then each child as a run started by the parent's node `node`,
 * the children's journals written, and the parent's last (a run's children are started while it runs).
 */
export async function appendSyntheticTree(
  store: Store,
  parent: SyntheticRun,
  children: readonly (SyntheticRun & { node: string })[],
): Promise<{ parent: string; children: string[] }> {
  const parentId = await createSyntheticRun(store, parent);
  const childIds: string[] = [];
  for (const child of children) {
    const childId = await createSyntheticRun(store, child, { runId: parentId, node: child.node });
    await appendSyntheticEvents(store, childId, child);
    childIds.push(childId);
  }
  await appendSyntheticEvents(store, parentId, parent);
  return { parent: parentId, children: childIds };
}

async function createSyntheticRun(
  store: Store,
  run: SyntheticRun,
  parent?: { runId: string; node: string },
): Promise<string> {
  counter += 1;
  const runId = `run_syn_${process.pid}_${Date.now().toString(36)}_${counter}`;
  const now = new Date();
  await store.createRun({
    runId,
    start: {
      agent: run.agent,
      agentVersion: run.version ?? "1.0.0",
      specHash: "sha256:synthetic",
      input: "synthetic",
      principal: { subject: "synthetic", tenant: run.tenant ?? "default", roles: [] },
      startedAt: now.toISOString(),
      deadlineAt: new Date(now.getTime() + 600_000).toISOString(),
      maxSteps: 20,
      ...(run.traceparent ? { traceparent: run.traceparent } : {}),
    },
    ...(parent ? { parent } : {}),
  });
  return runId;
}

async function appendSyntheticEvents(store: Store, runId: string, run: SyntheticRun): Promise<void> {
  const lease = await store.acquireLease({ runId, owner: "synthetic", ttlMs: 60_000 });
  if (!lease) throw new Error(`could not lease ${runId}`);
  await store.append({ lease, events: syntheticEvents(run) });
  await store.releaseLease(lease);
}
