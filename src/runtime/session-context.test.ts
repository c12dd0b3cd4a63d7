import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { z } from "zod";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import { testStores } from "../../test/support/test-database.ts";
import { testGovernor } from "../../test/support/test-governor.ts";
import type { JournalEvent, PayloadOf, Principal } from "../journal/index.ts";
import {
  createScriptedModelProvider,
  type GenerateOptions,
  runInputIndex,
  SUMMARIZE_SYSTEM_PROMPT,
  tokenCounterFor,
} from "../models/index.ts";
import { type SessionQueries, type SqlStore, sqlSessionQueries } from "../store/index.ts";
import { defineTool } from "../tools/tool.ts";
import { createAgentCatalog } from "./agent-catalog.ts";
import type { AgentDefinition } from "./agent-definition.ts";
import { startRun } from "./start-run.ts";
import { createWorker, type Worker } from "./worker.ts";

const principal: Principal = { subject: "user:ada", tenant: "default", roles: [] };
const TURNS = 200;
const MAX_TOKENS = 2_000;
const MAX_OUTPUT_TOKENS = 200;
const KEEP_LAST_TURNS = 4;

/** Every third turn's model notes the code with this tool before it answers. */
const noteCode = defineTool({
  name: "note_code",
  description: "Notes a code the user gave.",
  input: z.object({ code: z.string() }),
  async execute({ code }) {
    return { noted: code, at: "account notes" };
  },
});
const callsTool = (turn: number) => turn % 3 === 0;

/**
 * An agent that answers each message with the code it was given, every third turn after noting it with a tool;
 * its summaries name the turns they cover.
 */
function threadAgent(strategy: "drop-oldest" | "summarize") {
  const requests = new Map<string, GenerateOptions>();
  const agent: AgentDefinition = {
    ...scriptedAgent({ name: `thread-${strategy}`, turns: [], tools: [noteCode] }),
    system: "You are a support agent. Keep track of the codes the user gives you.",
    params: { maxOutputTokens: MAX_OUTPUT_TOKENS },
    context: { maxTokens: MAX_TOKENS, strategy, keepLastTurns: KEEP_LAST_TURNS },
    provider: createScriptedModelProvider({
      turns: (request) => {
        if (request.system === SUMMARIZE_SYSTEM_PROMPT) {
          const content = String(request.messages.at(-1)?.content);
          const covered = [...content.matchAll(/Turn (\d+):/g)].map((match) => match[1]);
          return {
            kind: "answer",
            text: `The user gave codes in turns up to ${covered.at(-1)}, each acknowledged.`,
          };
        }
        const own = request.messages.slice(runInputIndex(request));
        const input = String(own[0]?.content);
        const code = input.split(" ").at(-1)!;
        if (own.length === 1) {
          requests.set(input, { ...request, messages: [...request.messages] });
          const turn = Number(/^Turn (\d+):/.exec(input)?.[1]);
          if (callsTool(turn)) {
            return {
              kind: "tool-calls",
              calls: [{ callId: `note-${turn}`, tool: "note_code", arguments: { code } }],
            };
          }
        }
        return { kind: "answer", text: `Noted ${code}` };
      },
    }),
  };
  return { agent, requests };
}

/** The carried messages come in whole turns: user, the turn's tool call and result when it made one, answer. */
function assertWholeTurns(carry: PayloadOf<"context-carry">): void {
  const turns = [...new Set(carry.messages.map((message) => message.turn))];
  assert.equal(turns.length, carry.turnsCarried);
  for (const turn of turns) {
    const roles = carry.messages.filter((message) => message.turn === turn).map((message) => message.role);
    assert.deepEqual(
      roles,
      callsTool(turn) ? ["user", "assistant", "tool", "assistant"] : ["user", "assistant"],
      `turn ${turn} is carried whole`,
    );
  }
}

const inputOf = (turn: number) =>
  `Turn ${turn}: please keep this for later, it matters for my account and my next order, code C${turn}x${(turn * 7919) % 1000}`;

async function talk(options: {
  store: SqlStore;
  worker: Worker;
  sessions: SessionQueries;
  agent: AgentDefinition;
}): Promise<JournalEvent[][]> {
  const { sessionId } = await options.sessions.createSession({ agent: options.agent.name, principal });
  const journals: JournalEvent[][] = [];
  for (let turn = 1; turn <= TURNS; turn++) {
    const { run } = await startRun({
      store: options.store,
      agent: options.agent,
      input: inputOf(turn),
      principal,
      session: { sessionId },
    });
    options.worker.poke();
    for (;;) {
      const current = await options.store.getRun(run.runId);
      if (current?.status === "completed") break;
      assert.ok(
        current && ["queued", "running"].includes(current.status),
        `turn ${turn}: ${current?.status}`,
      );
      await options.store.waitForEvents({ runId: run.runId, afterSeq: current.lastSeq, timeoutMs: 200 });
    }
    journals.push(await options.store.readEvents({ runId: run.runId }));
  }
  return journals;
}

const carryOf = (journal: readonly JournalEvent[]): PayloadOf<"context-carry"> => {
  const event = journal.find((each) => each.type === "context-carry");
  assert.ok(event?.type === "context-carry", "every session run journals what it carried");
  return event.payload;
};

const counter = await tokenCounterFor("scripted", "scripted");

// Each store's sessions use their own store, worker and agents and share nothing: the two stores run side by side,
// so the PostgreSQL half's waits on its server overlap the PGlite half's work in this process.
describe(`context limits of a ${TURNS}-turn session, on each store`, { concurrency: true }, () => {
  for (const backend of testStores()) {
    describe(`context limits of a ${TURNS}-turn session on ${backend.name}`, () => {
      let store: SqlStore;
      let worker: Worker;
      const dropping = threadAgent("drop-oldest");
      const summarizing = threadAgent("summarize");
      let journals: Record<"drop-oldest" | "summarize", JournalEvent[][]>;
      /** What the model was asked, in tokens, plus the answer it may write: must fit the window. */
      const requestTokens = (request: GenerateOptions) =>
        counter.count(request.system) + counter.countMessages(request.messages) + MAX_OUTPUT_TOKENS;

      before(async () => {
        store = await backend.open();
        const agents = [dropping.agent, summarizing.agent];
        worker = createWorker({
          store,
          agents: createAgentCatalog(agents).lookup,
          governor: await testGovernor(agents),
          owner: "context-test",
          leaseTtlMs: 5_000,
        });
        worker.start();
        const sessions = sqlSessionQueries(store.sql);
        const [dropped, summarized] = await Promise.all([
          talk({ store, worker, sessions, agent: dropping.agent }),
          talk({ store, worker, sessions, agent: summarizing.agent }),
        ]);
        journals = { "drop-oldest": dropped, summarize: summarized };
      });
      after(async () => {
        await worker.stop();
        await store.close();
      });

      test("drop-oldest carries the latest turns that fit the window and journals how many it left out", () => {
        for (const [index, journal] of journals["drop-oldest"].entries()) {
          const turn = index + 1;
          const carry = carryOf(journal);
          assert.equal(carry.turnsBefore, turn - 1);
          assert.equal(carry.turnsCarried + carry.turnsDropped, turn - 1);
          assert.equal(carry.turnsSummarized, 0);
          assert.ok(carry.tokensCarried <= carry.window.maxTokens - carry.window.reservedTokens);
          assert.deepEqual(
            [carry.window.maxTokens, carry.window.encoding, carry.window.approximate],
            [MAX_TOKENS, counter.encoding, true],
          );
          // The carried turns are the latest ones, contiguous up to this turn, user then assistant.
          const turns = carry.messages
            .filter((message) => message.role === "user")
            .map((message) => message.turn);
          assert.deepEqual(
            turns,
            Array.from({ length: carry.turnsCarried }, (_, at) => turn - carry.turnsCarried + at),
          );
          const request = dropping.requests.get(inputOf(turn));
          assert.ok(request, `turn ${turn}'s model call was seen`);
          assert.ok(
            requestTokens(request) <= MAX_TOKENS,
            `turn ${turn} asked ${requestTokens(request)} tokens`,
          );
          assert.equal(request.messages.length, carry.messages.length + 1);
          assertWholeTurns(carry);
        }
        const last = carryOf(journals["drop-oldest"].at(-1)!);
        assert.ok(
          last.messages.some((message) => message.role === "tool"),
          "the latest turns are carried with their tool calls",
        );
        assert.ok(last.turnsDropped > TURNS / 2, "a long thread had to drop most of its turns");
        assert.ok(last.turnsCarried >= KEEP_LAST_TURNS, "and still carries its latest ones");
      });

      test("summarize folds the oldest turns into a journaled, costed summary call and stays within the window", () => {
        let summaryCalls = 0;
        for (const [index, journal] of journals.summarize.entries()) {
          const turn = index + 1;
          const carry = carryOf(journal);
          assert.equal(carry.turnsBefore, turn - 1);
          assert.equal(carry.turnsCarried + carry.turnsSummarized + carry.turnsDropped, turn - 1);
          assert.ok(carry.tokensCarried <= carry.window.maxTokens - carry.window.reservedTokens);
          const calls = journal.filter(
            (event) => event.type === "model-call-end" && event.payload.phase === "context_summary",
          );
          summaryCalls += calls.length;
          for (const call of calls) {
            assert.ok(call.type === "model-call-end" && call.payload.cost && call.payload.usage);
            // The summary call is made and journaled before the carry it produced, in the same run.
            assert.ok(call.seq < journal.find((event) => event.type === "context-carry")!.seq);
          }
          const request = summarizing.requests.get(inputOf(turn));
          assert.ok(request, `turn ${turn}'s model call was seen`);
          assert.ok(
            requestTokens(request) <= MAX_TOKENS,
            `turn ${turn} asked ${requestTokens(request)} tokens`,
          );
          if (carry.summary !== undefined) {
            assert.ok(
              request.system.includes(carry.summary),
              "the model reads the summary with its instructions",
            );
            assert.match(carry.summary, new RegExp(`turns up to ${carry.summarizedThrough}\\b`));
          }
          if (turn > KEEP_LAST_TURNS) assert.ok(carry.turnsCarried >= KEEP_LAST_TURNS);
          assertWholeTurns(carry);
        }
        const last = carryOf(journals.summarize.at(-1)!);
        assert.ok(last.turnsSummarized > TURNS / 2, "a long thread lives mostly in its summary");
        assert.equal(last.turnsDropped, 0, "nothing is lost while the latest turns and the summary fit");
        // Summaries build on the one before: a call now and then, not one per turn.
        assert.ok(
          summaryCalls > 1 && summaryCalls < TURNS / KEEP_LAST_TURNS,
          `${summaryCalls} summary calls`,
        );
      });
    });
  }
});
