/**
 * Fail-closed conformance (ARCHITECTURE.md invariant 2): every case in test/support/fail-closed-cases.ts is run
 * through the real tool node against a real store, and must end in a deny that is journaled — a
 * `policy-decision` with decision deny and its reasons, a `tool-call-end` the model sees — with the tool never run.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { JournalEvent } from "../src/journal/events.ts";
import { hashPayload } from "../src/journal/hash.ts";
import { verifyChain } from "../src/journal/verify-chain.ts";
import { executeToolCalls } from "../src/runtime/execute-tool-calls.ts";
import { RunJournal } from "../src/runtime/run-journal.ts";
import { foldEvents } from "../src/runtime/run-state.ts";
import { startRun } from "../src/runtime/start-run.ts";
import { openStore } from "../src/store/open-store.ts";
import type { Store } from "../src/store/store.ts";
import { executions, failClosedCases } from "./support/fail-closed-cases.ts";

const principal = { subject: "ada", tenant: "acme", roles: ["customer"] };
const cases = failClosedCases();

let store: Store;
before(async () => {
  store = await openStore({});
});
after(async () => await store.close());

test(`the conformance table has at least 200 fail-closed cases (${cases.length})`, () => {
  assert.ok(cases.length >= 200, `only ${cases.length} cases`);
  const names = new Set(cases.map((entry) => `${entry.category}: ${entry.name}`));
  assert.equal(names.size, cases.length, "case names are unique");
});

const byCategory = Map.groupBy(cases, (entry) => entry.category);
for (const [category, entries] of byCategory) {
  describe(`fail closed: ${category}`, () => {
    for (const entry of entries) {
      test(`denies and journals: ${entry.name}`, async () => {
        const setup = await entry.setup();
        executions.clear();
        const { run } = await startRun({ store, agent: setup.agent, input: "conformance", principal });
        const lease = await store.acquireLease({ runId: run.runId, owner: "conformance", ttlMs: 60_000 });
        assert.ok(lease);
        const argumentsHash = setup.argumentsHash ?? hashPayload(setup.arguments);
        await store.append({
          lease,
          events: [
            { type: "step-start", payload: { step: 1, node: "model" } },
            {
              type: "model-call-start",
              payload: { step: 1, provider: "scripted", model: "scripted", offline: true },
            },
            {
              type: "model-call-end",
              payload: { step: 1, provider: "scripted", model: "scripted", outcome: "ok", durationMs: 0 },
            },
            {
              type: "tool-call-propose",
              payload: {
                step: 1,
                callId: "call_1",
                tool: setup.tool,
                arguments: setup.arguments,
                argumentsHash,
              },
            },
          ],
        });
        const state = foldEvents(await store.readEvents({ runId: run.runId }));
        setup.damage?.(state);
        const journal = new RunJournal({ store, lease, state });
        await executeToolCalls.run({
          agent: setup.agent,
          journal,
          signal: AbortSignal.timeout(10_000),
          governor: setup.governor,
        });
        await store.releaseLease(lease);
        const events = await store.readEvents({ runId: run.runId });

        assert.equal(
          [...executions.values()].reduce((sum, count) => sum + count, 0),
          0,
          "the tool never ran",
        );
        assert.equal(
          events.some((event) => event.type === "tool-call-start"),
          false,
          "no tool-call-start",
        );
        const decisions = events.filter(
          (event): event is Extract<JournalEvent, { type: "policy-decision" }> =>
            event.type === "policy-decision",
        );
        assert.equal(decisions.length, 1, "exactly one decision is journaled");
        const decision = decisions[0]!.payload;
        assert.equal(decision.decision, "deny");
        assert.equal(decision.callId, "call_1");
        assert.ok(
          decision.reasons.length > 0 && decision.reasons.every((reason) => reason.length > 0),
          "with reasons",
        );
        assert.deepEqual(decision.agent, { name: setup.agent.name, version: setup.agent.version });
        if (entry.code) assert.equal(decision.code, entry.code, decision.reasons.join("; "));
        const end = events.find((event) => event.type === "tool-call-end");
        assert.ok(end?.type === "tool-call-end", "the model is told");
        assert.equal(end.payload.outcome, "error");
        assert.equal(end.payload.error?.code, "denied");
        assert.equal(verifyChain(events).ok, true);
      });
    }
  });
}
