import type { Principal } from "../journal/index.ts";
import type { AgentDefinition, Worker } from "../runtime/index.ts";
import { startRun } from "../runtime/index.ts";
import { type Store, SYSTEM_ACTOR } from "../store/index.ts";
import { type CaseOutcome, outcomeFromEvents } from "./case-outcome.ts";
import type { EvalTarget } from "./eval-target.ts";

/** Who asks in an eval when a case names nobody: a customer of the default tenant. */
export const EVAL_PRINCIPAL: Principal = {
  subject: "eval@keel.local",
  tenant: "default",
  roles: ["customer"],
};

/** A run waiting for a person, or ended: either way the eval has what it needs to grade. */
const SETTLED = new Set(["suspended", "completed", "failed", "cancelled", "budget_exceeded"]);

/**
 * Whether a run has settled for grading: ended, or suspended on something from outside — a person, a signal, a
 * timer. A workflow run suspended on its child runs has settled only when it will not wake by itself: none of its
 * children has ended without the run having taken that end in (`child-end`), and each child still open has settled
 * in turn (a child held for a person settles its parent too). The eval's worker runs the children.
 */
async function settled(
  store: Store,
  run: { runId: string; status: string; lastSeq: number },
): Promise<boolean> {
  if (!SETTLED.has(run.status)) return false;
  if (run.status !== "suspended") return true;
  const [last] = await store.readEvents({ runId: run.runId, afterSeq: run.lastSeq - 1, limit: 1 });
  if (last?.type !== "run-suspend" || last.payload.wait?.children === undefined) return true;
  const seen = new Set(
    (await store.readEvents({ runId: run.runId })).flatMap((event) =>
      event.type === "child-end" ? [event.payload.childRunId] : [],
    ),
  );
  for (const child of await store.listChildren({ runId: run.runId, limit: 1_000 })) {
    if (seen.has(child.runId)) continue;
    if (child.status !== "suspended" || !(await settled(store, child))) return false;
  }
  return true;
}

/**
 * End-to-end target: each case becomes a real run of the agent version (journal, governor, tools), interpreted
 * by the given worker on the given store, usually an in-memory PGlite so evals never touch production data.
 * A run that waits for a person counts as settled: the approval is what some cases expect. A workflow run suspended
 * on its child runs is not: the same worker runs the children, and the case is graded once the parent goes on.
 */
export function agentEvalTarget(options: {
  store: Store;
  agent: AgentDefinition;
  worker: Worker;
  model: string;
  /** The agent's model is an offline stand-in or a replay, so verdicts repeat exactly. */
  deterministic?: boolean;
  /** Longest a case may take before it is cancelled and graded as it stands. */
  caseTimeoutMs?: number;
}): EvalTarget {
  const { store, agent, worker } = options;
  const caseTimeoutMs = options.caseTimeoutMs ?? 60_000;
  return {
    agent: agent.name,
    version: agent.version,
    model: options.model,
    deterministic: options.deterministic ?? agent.provider.offline,
    async run(evalCase, { signal }): Promise<CaseOutcome> {
      const started = performance.now();
      // Each case acts for its own user, so per-user rate limits do not couple cases to each other.
      const principal = evalCase.principal ?? {
        ...EVAL_PRINCIPAL,
        subject: `eval+${evalCase.id}@keel.local`,
      };
      const { run } = await startRun({ store, agent, input: evalCase.input, principal });
      worker.poke();
      const deadline = started + caseTimeoutMs;
      let lastSeq = run.lastSeq;
      for (;;) {
        const current = await store.getRun(run.runId);
        if (current && (await settled(store, current))) break;
        if (signal.aborted || performance.now() > deadline) {
          const request = {
            by: SYSTEM_ACTOR,
            reason: signal.aborted ? "the eval was stopped" : "the case timed out",
          };
          const cancelled = await store.requestCancel(run.runId, request);
          worker.cancel(run.runId, cancelled?.cancelRequest ?? request);
          break;
        }
        lastSeq = current?.lastSeq ?? lastSeq;
        await store
          .waitForEvents({ runId: run.runId, afterSeq: lastSeq, timeoutMs: 200, signal })
          .catch(() => undefined);
      }
      const events = await store.readEvents({ runId: run.runId });
      return outcomeFromEvents(events, { latencyMs: Math.round(performance.now() - started) });
    },
  };
}
