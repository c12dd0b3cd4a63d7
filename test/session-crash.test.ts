import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { verifyChain } from "../src/journal/verify-chain.ts";
import { sqlSessionQueries } from "../src/store/index.ts";
import { openStore } from "../src/store/open-store.ts";
import { launchCrashChild, nextLine } from "./support/crash-process.ts";
import { createTestDatabase, testDatabaseServerUrl } from "./support/test-database.ts";

const FIRST = "hello, I am Ada: has order A-17 shipped?";
const child = new URL("./support/session-crash-child.ts", import.meta.url).pathname;

const stores: { name: "pglite" | "postgres"; target: () => Promise<string | null> }[] = [
  { name: "pglite", target: async () => mkdtempSync(join(tmpdir(), "keel-session-crash-")) },
  {
    name: "postgres",
    target: async () => {
      const server = testDatabaseServerUrl();
      return server ? await createTestDatabase(server) : null;
    },
  },
];

// Each store's runs use their own directory or database and share nothing: the two stores run side by side, each
// store's tests one after another.
describe("a session whose server is killed mid-turn, on each store", { concurrency: true }, () => {
  for (const { name, target } of stores) {
    describe(`a session whose server is killed mid-turn (${name})`, { concurrency: 1 }, () => {
      test("continues after SIGKILL without losing or duplicating a message, and the next turn reads the thread once", async (t) => {
        const where = await target();
        if (!where) return t.skip("PostgreSQL is not installed");
        try {
          const first = launchCrashChild(child, [name, where, "start"], "tool");
          const sessionId = await nextLine(first.lines, "SESSION ");
          const runId = await nextLine(first.lines, "RUN ");
          await nextLine(first.lines, "HANGING");
          const killed = new Promise((resolve) => first.process.once("exit", resolve));
          first.process.kill("SIGKILL");
          await killed;

          const second = launchCrashChild(child, [name, where, "resume", sessionId], "");
          const retry = await nextLine(second.lines, "RETRY ");
          const status = await nextLine(second.lines, "END ");
          await new Promise((resolve) => second.process.once("exit", resolve));
          assert.equal(status, "completed");
          // The client's retry of the interrupted message, with its key, answered the same run.
          assert.equal(retry, `200 ${runId}`);

          const store = await openStore(name === "postgres" ? { databaseUrl: where } : { dataDir: where });
          try {
            const turns = await sqlSessionQueries(store.sql).sessionTurns(sessionId);
            assert.deepEqual(
              turns.map((turn) => [turn.turn, turn.input, turn.answer, turn.status]),
              [
                [1, FIRST, `re: ${FIRST}`, "completed"],
                [2, "where is my order?", "re: where is my order?", "completed"],
                [3, "thanks, bye", "re: thanks, bye", "completed"],
              ],
            );
            assert.equal(turns[1]!.runId, runId);
            const interrupted = await store.readEvents({ runId });
            // A session's run is about its subject: the chain is over the sealed form the store keeps.
            assert.equal(verifyChain(await store.readEvents({ runId, asStored: true })).ok, true);
            assert.ok(interrupted.some((event) => event.type === "run-resume"));
            assert.equal(interrupted.filter((event) => event.type === "context-carry").length, 1);

            // The interrupted run carried the first turn, its tool call and result included, and read exactly that
            // ahead of its input on every call, before the crash and after it.
            const carried = interrupted.find((event) => event.type === "context-carry");
            assert.ok(carried?.type === "context-carry");
            assert.deepEqual(
              carried.payload.messages.map((message) => [message.turn, message.role]),
              [
                [1, "user"],
                [1, "assistant"],
                [1, "tool"],
                [1, "assistant"],
              ],
            );
            const carriedMessages = carried.payload.messages.map(({ turn: _turn, ...message }) => message);
            const { rows: second } = await store.sql.query<{
              messages: { role: string; content: unknown }[];
            }>("SELECT messages FROM session_crash_requests WHERE input = 'where is my order?' ORDER BY id");
            assert.ok(
              second.length >= 2,
              `the interrupted turn's model was asked before and after the crash`,
            );
            for (const request of second) {
              assert.deepEqual(request.messages.slice(0, carriedMessages.length), carriedMessages);
              assert.equal(
                request.messages.filter((message) => message.role === "user").length,
                2,
                "its own input once, after the carried turn",
              );
            }

            // The third turn's model read the two earlier turns once each, in order, with their tool calls and
            // results, then its own input.
            const { rows } = await store.sql.query<{
              messages: { role: string; content: unknown; tool?: string; toolCalls?: { tool: string }[] }[];
            }>("SELECT messages FROM session_crash_requests WHERE input = 'thanks, bye' ORDER BY id");
            assert.deepEqual(
              rows[0]?.messages.map((message) =>
                message.role === "tool"
                  ? ["tool", message.tool]
                  : message.toolCalls
                    ? ["assistant", message.toolCalls.map((call) => call.tool).join()]
                    : [message.role, message.content],
              ),
              [
                ["user", FIRST],
                ["assistant", "lookup"],
                ["tool", "lookup"],
                ["assistant", `re: ${FIRST}`],
                ["user", "where is my order?"],
                ["assistant", "lookup"],
                ["tool", "lookup"],
                ["assistant", "re: where is my order?"],
                ["user", "thanks, bye"],
              ],
            );
            assert.deepEqual(rows[0]?.messages[2]?.content, { order: "A-17", status: "shipped" });
            const third = await store.readEvents({ runId: turns[2]!.runId });
            const carry = third.find((event) => event.type === "context-carry");
            assert.deepEqual(
              carry?.type === "context-carry" ? carry.payload.messages.map((message) => message.turn) : [],
              [1, 1, 1, 1, 2, 2, 2, 2],
            );
          } finally {
            await store.close();
          }
        } finally {
          if (name === "pglite") rmSync(where, { recursive: true, force: true });
        }
      });
    });
  }
});
