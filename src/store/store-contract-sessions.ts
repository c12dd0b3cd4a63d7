import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { NewEvent, Principal } from "../journal/index.ts";
import { type SessionRecord, sqlSessionQueries } from "./session-queries.ts";
import type { SqlStore } from "./sql-store.ts";
import {
  readAllPages,
  rejectsWithCode,
  runEnd,
  runStart,
  type StoreContractContext,
  setCreatedAt,
  stepStart,
  uniqueName,
} from "./store-contract-fixtures.ts";

const ada: Principal = { subject: "user:ada", tenant: "default", roles: [] };

/** Contract tests for sessions: the thread's rows, its runs in message order, and the checks a message passes. */
export function sessionsContract(context: StoreContractContext): void {
  describe("sessions", () => {
    const message = (store: SqlStore, sessionId: string, agent: string, input: string, key?: string) =>
      store.createRun({
        runId: uniqueName("run"),
        start: runStart(agent, input),
        session: { sessionId },
        ...(key === undefined ? {} : { idempotencyKey: key }),
      });
    const finish = async (
      store: SqlStore,
      runId: string,
      events: NewEvent[] = [runEnd(`answer to ${runId}`)],
    ) => {
      const lease = await store.acquireLease({ runId, owner: "contract", ttlMs: 10_000 });
      assert.ok(lease);
      await store.append({ lease, events: [stepStart(1), ...events] });
      await store.releaseLease(lease);
    };

    test("creates, reads, lists a page at a time and deletes sessions of a tenant", async () => {
      const sessions = sqlSessionQueries(context.store.sql);
      const agent = uniqueName("agent");
      const first = await sessions.createSession({ agent, principal: ada, metadata: { channel: "chat" } });
      const second = await sessions.createSession({ agent, principal: ada, subject: "customer-7" });
      assert.deepEqual(
        [first.subject, first.metadata, first.turns, second.subject],
        ["user:ada", { channel: "chat" }, 0, "customer-7"],
      );
      assert.equal((await sessions.getSession(first.sessionId))?.agent, agent);
      const page = await sessions.listSessions({ tenant: "default", agent, limit: 1 });
      assert.deepEqual(
        page.sessions.map((session) => session.sessionId),
        [second.sessionId],
      );
      // Paged on from where the first page stopped: the two may share a millisecond, which `before` cannot tell apart.
      const next = await sessions.listSessions({
        tenant: "default",
        agent,
        limit: 5,
        startAfter: page.next!,
      });
      assert.deepEqual(
        [next.sessions.map((session) => session.sessionId), next.next],
        [[first.sessionId], null],
      );
      assert.deepEqual(await sessions.listSessions({ tenant: "elsewhere", agent, limit: 5 }), {
        sessions: [],
        next: null,
      });
      await rejectsWithCode(sessions.listSessions({ tenant: "default", limit: 0 }), "invalid_request");

      assert.equal(await sessions.deleteSession(first.sessionId), true);
      assert.equal(await sessions.deleteSession(first.sessionId), false);
      assert.equal(await sessions.getSession(first.sessionId), null);
      assert.equal((await sessions.listSessions({ tenant: "default", agent, limit: 5 })).sessions.length, 1);
      await rejectsWithCode(message(context.store, first.sessionId, agent, "hi"), "not_found");
    });

    test("pages through sessions created at one instant and in one millisecond with no session skipped or repeated", async () => {
      const sessions = sqlSessionQueries(context.store.sql);
      const agent = uniqueName("agent");
      const opened: SessionRecord[] = [];
      for (let index = 0; index < 6; index += 1)
        opened.push(await sessions.createSession({ agent, principal: ada }));
      const instants = [
        "2026-03-01T09:00:00.500250Z",
        "2026-03-01T09:00:00.500250Z",
        "2026-03-01T09:00:00.500250Z",
        "2026-03-01T09:00:00.500900Z",
        "2026-03-01T09:00:00.500001Z",
        "2026-03-01T09:00:00.499999Z",
      ];
      await setCreatedAt(
        context.store,
        "keel_sessions",
        "session_id",
        opened.map((session, index) => [session.sessionId, instants[index]!]),
      );
      const all = (await sessions.listSessions({ tenant: "default", agent, limit: 100 })).sessions;
      const listed = all.map((session) => session.sessionId);
      const ids = (indexes: number[]) => indexes.map((index) => opened[index]!.sessionId);
      assert.deepEqual(
        [listed.slice(0, 1), listed.slice(1, 4).sort(), listed.slice(4)],
        [ids([3]), ids([0, 1, 2]).sort(), ids([4, 5])],
      );
      for (const limit of [1, 2, 4]) {
        const paged = await readAllPages(async (startAfter) => {
          const page = await sessions.listSessions({
            tenant: "default",
            agent,
            limit,
            ...(startAfter === undefined ? {} : { startAfter }),
          });
          return { rows: page.sessions, next: page.next };
        });
        assert.deepEqual(
          paged.map((session) => session.sessionId),
          listed,
          `pages of ${limit}`,
        );
      }
      const before = await sessions.listSessions({
        tenant: "default",
        agent,
        limit: 10,
        before: new Date("2026-03-01T09:00:00.500Z"),
      });
      assert.deepEqual(
        before.sessions.map((session) => session.sessionId),
        ids([5]),
      );
    });

    test("numbers a session's messages in order, one run at a time, and projects each run's input and answer", async () => {
      const { store } = context;
      const sessions = sqlSessionQueries(store.sql);
      const agent = uniqueName("agent");
      const { sessionId } = await sessions.createSession({ agent, principal: ada });

      const one = await message(store, sessionId, agent, "first");
      assert.equal(one.created, true);
      const [start] = await store.readEvents({ runId: one.run.runId });
      assert.deepEqual(start?.type === "run-start" ? start.payload.session : null, { sessionId, turn: 1 });
      // The first run has not ended: the next message must wait for it.
      await rejectsWithCode(message(store, sessionId, agent, "too soon"), "conflict");
      await finish(store, one.run.runId);
      const two = await message(store, sessionId, agent, "second", "key-2");
      await finish(store, two.run.runId, [
        { type: "run-end", payload: { status: "failed", error: { code: "x", message: "broke" }, steps: 1 } },
      ]);
      const three = await message(store, sessionId, agent, "third");

      const turns = await sessions.sessionTurns(sessionId);
      assert.deepEqual(
        turns.map((turn) => [turn.turn, turn.runId, turn.input, turn.answer, turn.status]),
        [
          [1, one.run.runId, "first", `answer to ${one.run.runId}`, "completed"],
          [2, two.run.runId, "second", null, "failed"],
          [3, three.run.runId, "third", null, "queued"],
        ],
      );
      assert.deepEqual(
        (await sessions.sessionTurns(sessionId, { beforeTurn: 3 })).map((turn) => turn.turn),
        [1, 2],
      );
      assert.equal((await sessions.getSession(sessionId))?.turns, 3);
      // A repeated key answers the run it started even while another run of the session is going.
      const again = await message(store, sessionId, agent, "second", "key-2");
      assert.deepEqual([again.created, again.run.runId], [false, two.run.runId]);
    });

    test("refuses a message for another agent or tenant, and a run-start that names its own session", async () => {
      const { store } = context;
      const sessions = sqlSessionQueries(store.sql);
      const agent = uniqueName("agent");
      const { sessionId } = await sessions.createSession({ agent, principal: ada });
      await rejectsWithCode(message(store, sessionId, uniqueName("agent"), "hi"), "not_found");
      await rejectsWithCode(
        store.createRun({
          runId: uniqueName("run"),
          start: { ...runStart(agent), principal: { subject: "mallory", tenant: "other", roles: [] } },
          session: { sessionId },
        }),
        "not_found",
      );
      await rejectsWithCode(
        store.createRun({
          runId: uniqueName("run"),
          start: { ...runStart(agent), session: { sessionId, turn: 9 } },
        }),
        "invalid_request",
      );
      assert.deepEqual(await sessions.sessionTurns(sessionId), []);
    });

    test("gives one of two messages racing from two stores the next turn and refuses the other", async () => {
      const sessions = sqlSessionQueries(context.store.sql);
      const agent = uniqueName("agent");
      const { sessionId } = await sessions.createSession({ agent, principal: ada });
      const outcomes = await Promise.allSettled([
        message(context.store, sessionId, agent, "from a"),
        message(context.peer, sessionId, agent, "from b"),
      ]);
      assert.equal(outcomes.filter((outcome) => outcome.status === "fulfilled").length, 1);
      const refused = outcomes.find((outcome) => outcome.status === "rejected");
      assert.match(String((refused as PromiseRejectedResult).reason), /still answering/);
      assert.deepEqual(
        (await sessions.sessionTurns(sessionId)).map((turn) => turn.turn),
        [1],
      );
    });

    test("reads back the context a session's run journaled as carried", async () => {
      const { store } = context;
      const sessions = sqlSessionQueries(store.sql);
      const agent = uniqueName("agent");
      const { sessionId } = await sessions.createSession({ agent, principal: ada });
      const { run } = await message(store, sessionId, agent, "hello");
      assert.equal(await sessions.contextCarryOf(run.runId), null);
      const carry: NewEvent = {
        type: "context-carry",
        payload: {
          sessionId,
          turn: 1,
          strategy: "summarize",
          window: { maxTokens: 1_000, reservedTokens: 100, encoding: "o200k_base", approximate: false },
          turnsBefore: 0,
          turnsCarried: 0,
          turnsSummarized: 0,
          turnsDropped: 0,
          tokensBefore: 0,
          tokensCarried: 12,
          summary: "the user is Ada",
          summarizedThrough: 0,
          messages: [],
        },
      };
      await finish(store, run.runId, [carry, runEnd()]);
      const read = await sessions.contextCarryOf(run.runId);
      assert.deepEqual([read?.summary, read?.tokensCarried], ["the user is Ada", 12]);
    });
  });
}
