/**
 * The kill-switch race: a kill thrown at a random moment during a burst of tool calls across concurrent runs.
 * Over 1,000 randomized trials (fast-check), no tool execution may start after the kill was acknowledged, and
 * every call after it ends denied or killed. In two trials of three the runs are child runs of a workflow's run under a
 * coordinator's, and an agent kill names one of those agents: a kill of an agent reaches the child runs it started,
 * whatever their own agent. The journal under the tool node is an in-memory store whose appends
 * take random time, to shake out interleavings; the governor, kill switch and tool node are the real ones.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { z } from "zod";
import { createGovernor } from "../src/governance/create-governor.ts";
import { createMemoryGovernanceStore } from "../src/governance/memory-governance-store.ts";
import type { JournalEvent, NewEvent } from "../src/journal/events.ts";
import { hashPayload } from "../src/journal/hash.ts";
import { executeToolCalls } from "../src/runtime/execute-tool-calls.ts";
import { governedTools } from "../src/runtime/governed-tools.ts";
import { RunJournal } from "../src/runtime/run-journal.ts";
import { foldEvents } from "../src/runtime/run-state.ts";
import { GovernanceSection } from "../src/spec/governance-section.ts";
import type { Lease, Store } from "../src/store/store.ts";
import { defineTool } from "../src/tools/tool.ts";
import { scriptedAgent } from "./support/scripted-agent.ts";

const TRIALS = 1_000;

/** A store that only appends, after a random delay, recording what each run's journal received. */
function latencyStore(random: () => number, written: Map<string, NewEvent[]>): Store {
  return {
    async append({ lease, events }: { lease: Lease; events: readonly NewEvent[] }) {
      const delay = random();
      if (delay > 0.3) await new Promise((resolve) => setTimeout(resolve, Math.floor(delay * 2)));
      else await Promise.resolve();
      written.set(lease.runId, [...(written.get(lease.runId) ?? []), ...events]);
      return [];
    },
  } as unknown as Store;
}

/** The agents above each run when the runs are child runs: a workflow's, under a coordinator's. */
const ANCESTORS = ["review", "coordinator"];

function stateOf(runId: string, calls: number, ancestors: readonly string[]) {
  const base = { runId, at: "", schemaVersion: 1, payloadHash: "", prevHash: "", hash: "" };
  const events = [
    {
      ...base,
      seq: 1,
      type: "run-start",
      payload: {
        agent: "burst",
        agentVersion: "1.0.0",
        specHash: "sha256:x",
        input: "go",
        principal: { subject: "ada", tenant: "acme", roles: [] },
        startedAt: "2026-01-01T00:00:00.000Z",
        deadlineAt: "2026-01-01T00:10:00.000Z",
        maxSteps: 10,
        ...(ancestors.length > 0
          ? {
              parent: { runId: "run_parent", node: "fan", rootRunId: "run_root" },
              ancestors: [...ancestors],
            }
          : {}),
      },
    },
    { ...base, seq: 2, type: "step-start", payload: { step: 1, node: "model" } },
    ...Array.from({ length: calls }, (_, index) => ({
      ...base,
      seq: 3 + index,
      type: "tool-call-propose",
      payload: {
        step: 1,
        callId: `c${index}`,
        tool: "work",
        arguments: { n: index },
        argumentsHash: hashPayload({ n: index }),
      },
    })),
  ] as JournalEvent[];
  return foldEvents(events);
}

test(`no tool execution starts after a kill is acknowledged, in child runs of a killed agent too (${TRIALS} randomized trials)`, async () => {
  let trials = 0;
  let totalStarted = 0;
  let totalAfterKill = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        runs: fc.integer({ min: 1, max: 8 }),
        callsPerRun: fc.integer({ min: 1, max: 6 }),
        killAfterStarts: fc.option(fc.integer({ min: 0, max: 20 }), { nil: null }),
        killDelayMs: fc.integer({ min: 0, max: 3 }),
        scope: fc.constantFrom("agent" as const, "tenant" as const, "all" as const),
        ancestors: fc.constantFrom([], ANCESTORS, ANCESTORS.slice(1)),
        seed: fc.integer(),
      }),
      async (trial) => {
        trials += 1;
        let state = trial.seed >>> 0;
        const random = () => {
          state = (state * 1_664_525 + 1_013_904_223) >>> 0;
          return state / 2 ** 32;
        };
        let acknowledged = false;
        let startedAfterAck = 0;
        let started = 0;
        let killNow: (() => void) | null = null;
        const work = defineTool({
          name: "work",
          description: "Work for a moment.",
          input: z.object({ n: z.number() }),
          async execute(_input, { signal }) {
            if (acknowledged) startedAfterAck += 1;
            started += 1;
            if (trial.killAfterStarts !== null && started === trial.killAfterStarts) killNow?.();
            const wait = random();
            if (wait > 0.5) {
              await new Promise<void>((resolve) => {
                const timer = setTimeout(resolve, Math.floor(wait * 2));
                signal.addEventListener("abort", () => {
                  clearTimeout(timer);
                  resolve();
                });
              });
            }
            signal.throwIfAborted();
            return { done: true };
          },
        });
        const agent = scriptedAgent({ name: "burst", turns: [], tools: [work] });
        const governor = createGovernor({ store: createMemoryGovernanceStore() });
        await governor.load({
          name: "burst",
          version: "1.0.0",
          governance: GovernanceSection.parse({
            allowedTools: ["work"],
            decisionAuthority: { autonomous: ["work"] },
          }),
          tools: governedTools([work]),
          policyFiles: [],
        });
        const written = new Map<string, NewEvent[]>();
        const store = latencyStore(random, written);
        const kill = async () => {
          // Runs under other agents' runs are killed through the agent at the top of their tree.
          const agentTarget = trial.ancestors.at(-1) ?? "burst";
          const target = trial.scope === "agent" ? agentTarget : trial.scope === "tenant" ? "acme" : "*";
          await governor.killSwitch.kill({ scope: trial.scope, target, reason: "race", killedBy: "test" });
          acknowledged = true;
        };
        let killing: Promise<void> | null = null;
        killNow = () => {
          killing ??= kill();
        };
        const runs = Array.from({ length: trial.runs }, async (_, index) => {
          const runId = `run_${index}`;
          const journal = new RunJournal({
            store,
            lease: { runId, owner: "race", token: 1, expiresAt: new Date(0) },
            state: stateOf(runId, trial.callsPerRun, trial.ancestors),
          });
          await executeToolCalls.run({ agent, journal, signal: new AbortController().signal, governor });
        });
        if (trial.killAfterStarts === null || trial.killAfterStarts === 0) {
          setTimeout(() => killNow?.(), trial.killDelayMs);
        }
        await Promise.all(runs);
        killNow();
        await killing;
        totalStarted += started;

        assert.equal(startedAfterAck, 0, "a tool started after the kill was acknowledged");
        // Every call that did not finish before the kill is on record as denied or killed, and no run went on.
        for (const events of written.values()) {
          const ends = events.flatMap((event) => (event.type === "tool-call-end" ? [event.payload] : []));
          const stopped = ends.filter((end) => end.error?.code === "denied" || end.error?.code === "killed");
          if (stopped.length > 0) {
            totalAfterKill += 1;
            const runEnd = events.find((event) => event.type === "run-end");
            assert.equal(runEnd?.type === "run-end" && runEnd.payload.error?.code, "killed");
          }
        }
        assert.equal(governor.killSwitch.inFlightCount, 0, "no action is left tracked");
      },
    ),
    { numRuns: TRIALS, seed: 20_260_101 },
  );
  assert.equal(trials, TRIALS);
  assert.ok(
    totalStarted > 0 && totalAfterKill > 0,
    `the trials exercised both sides (${totalStarted} starts, ${totalAfterKill} killed runs)`,
  );
});
