import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { captureIo } from "../../test/support/capture-io.ts";
import { type KeelServer, startKeelServer } from "../../test/support/keel-server.ts";
import { createTestDatabase, testDatabaseServerUrl } from "../../test/support/test-database.ts";
import { main } from "./main.ts";

const entry = new URL("./main.ts", import.meta.url).pathname;
const gatedPackages = new URL("../../test/support/gated-support-triage.ts", import.meta.url).pathname;
const APPROVER = { KEEL_SUBJECT: "lee@example.com", KEEL_ROLES: "approver:support-leads" };

/** A spawned `keel chat` whose stdin the test writes, and whose output it waits on. */
type Chat = {
  process: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  waitFor: (pattern: RegExp) => Promise<RegExpExecArray>;
  exited: Promise<number | null>;
};

/** Chats spawned and not yet exited: a test that fails while one waits must not leave it holding the file open. */
const chats = new Set<ChildProcess>();

function spawnChat(args: readonly string[], env: Record<string, string> = {}): Chat {
  const child = spawn(process.execPath, [entry, "chat", ...args], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, KEEL_SUBJECT: "", KEEL_ROLES: "", KEEL_API_KEY: "", ...env },
  });
  chats.add(child);
  child.once("exit", () => chats.delete(child));
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    process: child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    async waitFor(pattern) {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const match = pattern.exec(stdout);
        if (match) return match;
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`no ${pattern} in the chat's output:\n${stdout}\n${stderr}`);
        await sleep(50);
      }
    },
  };
}

async function api<T>(url: string, path: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const response = await fetch(`${url}${path}`, init);
  return { status: response.status, body: (await response.json()) as T };
}

type SessionDetail = {
  messages: { role: string; content: string; turn: number }[];
  runs: { runId: string; status: string }[];
};

const postgres = testDatabaseServerUrl();

for (const store of ["PGlite", "PostgreSQL"] as const) {
  describe(`keel chat against keel serve (${store})`, {
    skip: store === "PostgreSQL" && !postgres ? "PostgreSQL is not installed" : false,
  }, () => {
    let server: KeelServer;
    let dataDir: string;
    let gate: string;
    let serverOutput = "";

    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), "keel-chat-"));
      // get_order waits for this file, so a test can be sure the chat watches a run before its answer is written.
      gate = join(dataDir, "gate");
      server = await startKeelServer({
        ...(store === "PGlite"
          ? { dataDir: join(dataDir, "store") }
          : { databaseUrl: await createTestDatabase(postgres ?? "") }),
        args: ["--packages", gatedPackages],
        env: { KEEL_TEST_GATE_FILE: gate },
      });
      server.process.stdout!.on("data", (chunk: Buffer) => {
        serverOutput += chunk.toString();
      });
    });

    after(async () => {
      for (const chat of chats) chat.kill("SIGKILL");
      await server?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    test("streams the answer delta by delta, and the deltas join to exactly the journaled answer", async () => {
      const stdin = new PassThrough();
      const chunks: string[] = [];
      const io = { ...captureIo(), write: (text: string) => chunks.push(text), stdin };
      const exit = main(["chat", "support-triage", "--url", server.url], io);
      stdin.write("Where is my order 1042?\n");
      const written = () => chunks.join("");
      // get_order has started (the server says GATE): the chat, which asked for the run's events as soon as the
      // message was taken, follows the run by now; the answer is written only once the gate opens.
      while (!serverOutput.includes("GATE run_")) await sleep(20);
      await sleep(500);
      writeFileSync(gate, "");
      stdin.end();
      assert.equal(await exit, 0, io.stderr.join("\n"));

      const start = chunks.indexOf("support-triage> ");
      assert.ok(start >= 0, written());
      const end = chunks.indexOf("\n", start);
      const deltas = chunks.slice(start + 1, end);
      assert.ok(deltas.length > 5, `the answer came in ${deltas.length} pieces`);
      const sessionId = /session (ses_\w+)/.exec(io.stdout.join("\n"))?.[1];
      const { body } = await api<SessionDetail>(server.url, `/v1/sessions/${sessionId}`);
      const answer = body.messages[1]?.content ?? "";
      assert.match(answer, /1ZLH42A80312104284/);
      assert.equal(deltas.join(""), answer);
      // Streamed and journaled agree, so the answer is shown once.
      assert.equal(written().split(answer).length - 1, 1);
      assert.doesNotMatch(written(), /as journaled/);
    });

    test("holds a two-turn conversation on piped stdin: the second turn carries the first, tool calls are shown", async () => {
      const chat = spawnChat(["support-triage", "--url", server.url, "--subject", "customer-1042"]);
      chat.process.stdin!.end("Where is my order 1042?\nhow long does a refund take?\n/quit\n");
      assert.equal(await chat.exited, 0, chat.stderr());
      const text = chat.stdout();
      assert.equal(chat.stderr(), "");
      const sessionId = /^session (ses_\w+) with support-triage, about customer-1042$/m.exec(text)?.[1];
      assert.ok(sessionId, text);
      assert.match(text, /offline stand-in, not a real model/);
      // Arguments and results show their keys in the order of the event that carried them (a sealed value is shown
      // as it was written): their fields are checked, not their order.
      assert.match(
        text,
        /⚙ get_order \{"orderId":"1042"\}\n {4}✔ get_order \d+ ms {2}\{.*"cancelledOn":null/,
      );
      assert.match(text, /support-triage> Hi Ada, order 1042 shipped .* 1ZLH42A80312104284/);
      const search = /⚙ search_kb (\{.*\})\n/.exec(text)?.[1] ?? "{}";
      assert.deepEqual(JSON.parse(search), { limit: 3, query: "how long does a refund take?" }, text);
      // The second run read the first turn: its journaled context-carry says so, and the thread holds both in order.
      assert.match(text, /context session turn 1: 0 earlier turns carried/);
      assert.match(text, /context session turn 2: 1 earlier turn carried/);
      assert.match(text, new RegExp(`continue: keel chat support-triage --session ${sessionId}\\n$`));
      const { body } = await api<SessionDetail>(server.url, `/v1/sessions/${sessionId}`);
      assert.deepEqual(
        body.messages.map((message) => [message.turn, message.role]),
        [
          [1, "user"],
          [1, "assistant"],
          [2, "user"],
          [2, "assistant"],
        ],
      );
      assert.equal(body.messages[2]?.content, "how long does a refund take?");
      assert.ok(text.includes(`support-triage> ${body.messages[3]?.content}`));
    });

    test("shows a held refund with who may decide, and /approve continues the run to its answer", async () => {
      const chat = spawnChat(["support-triage", "--url", server.url], APPROVER);
      chat.process.stdin!.write("I want a refund for order 1017\n");
      const [, approvalId] = await chat.waitFor(
        /is held for approval (apr_\w+): refunds above 100 need a support lead/,
      );
      const text = chat.stdout();
      // The held call's arguments, in whatever order the event that carried them has its keys.
      const held = /⏸ issue_refund (\{.*\}) is held for approval/.exec(text)?.[1] ?? "";
      assert.deepEqual(
        { ...(JSON.parse(held) as Record<string, unknown>), reason: undefined },
        { amount: "281.00", orderId: 1017, reason: undefined },
        text,
      );
      assert.match(
        text,
        /who may decide: the support-leads queue, anyone with the role approver:support-triage or approver:support-leads except local-developer/,
      );
      assert.ok(
        text.includes(`decide here: /approve ${approvalId} [comment]  or  /reject ${approvalId} <reason>`),
      );
      assert.ok(text.includes(`keel approvals approve ${approvalId}`));
      await chat.waitFor(/waiting for the decision/);
      chat.process.stdin!.end(`/approve ${approvalId} checked the order\n`);
      assert.equal(await chat.exited, 0, chat.stderr());
      const done = chat.stdout();
      assert.match(done, new RegExp(`${approvalId} approved by lee@example\\.com; run run_\\w+ resumes`));
      assert.match(done, /⚙ issue_refund .*\n {4}✔ issue_refund/);
      assert.match(done, /support-triage> Done, Ada: I've issued refund #\d+ of 281\.00 USD for order 1017/);
    });

    test("Ctrl-C leaves a held run going and says how to follow it; --session picks it up and /approve finishes it", async () => {
      const first = spawnChat(["support-triage", "--url", server.url]);
      first.process.stdin!.write("I want a refund for order 1018\n");
      await first.waitFor(/waiting for the decision on apr_\w+/);
      first.process.kill("SIGINT");
      assert.equal(await first.exited, 130);
      const [, runId, sessionId] =
        /left run (run_\w+) \(turn 1\) going: keel runs show run_\w+; continue: keel chat support-triage --session (ses_\w+)/.exec(
          first.stdout(),
        ) ?? [];
      assert.ok(runId && sessionId, first.stdout());
      assert.equal(first.stderr(), "");
      const run = await api<{ status: string }>(server.url, `/v1/runs/${runId}`);
      assert.equal(run.body.status, "suspended");

      const second = spawnChat(["support-triage", "--session", sessionId, "--url", server.url], APPROVER);
      await second.waitFor(/turn 1 is still being answered \(run run_\w+\); following it/);
      await second.waitFor(/waiting for the decision/);
      // One request is held: /approve needs no id.
      second.process.stdin!.end("/approve\n");
      assert.equal(await second.exited, 0, second.stderr());
      assert.match(second.stdout(), /support-triage> .*refund #\d+ of [\d.]+ USD for order 1018/);
    });

    test("a message the session cannot take yet (409) is explained and the chat goes on", async () => {
      const opened = await api<{ id: string }>(server.url, "/v1/agents/support-triage/sessions", {
        method: "POST",
      });
      const chat = spawnChat(["support-triage", "--session", opened.body.id, "--url", server.url]);
      await chat.waitFor(/type a message/);
      // Another client sends the session a message that is held for a person.
      const sent = await api<{ runId: string }>(server.url, `/v1/sessions/${opened.body.id}/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ input: "I want a refund for order 1015" }),
      });
      assert.equal(sent.status, 202);
      for (;;) {
        const run = await api<{ status: string }>(server.url, `/v1/runs/${sent.body.runId}`);
        if (run.body.status === "suspended") break;
        await sleep(50);
      }
      chat.process.stdin!.end("/approve apr_unknown\nhello\n");
      // The message was not sent: a script reading the exit code learns so.
      assert.equal(await chat.exited, 1);
      assert.match(
        chat.stderr(),
        new RegExp(
          `^keel: not sent — session ${opened.body.id} is still answering its message 1 \\(run ${sent.body.runId} is suspended\\).*keel runs show ${sent.body.runId}`,
          "m",
        ),
      );
      assert.match(chat.stderr(), /^keel: say who decides: start the chat with --as <you> --roles <role>/m);
      assert.doesNotMatch(chat.stderr(), /\n\s+at /);

      // The chat that picks the session up follows the held run, and /reject settles it with the reason given.
      const next = spawnChat(["support-triage", "--session", opened.body.id, "--url", server.url], APPROVER);
      await next.waitFor(/waiting for the decision on apr_\w+/);
      next.process.stdin!.end("/reject\n/reject please send a photo of the damage first\n");
      assert.equal(await next.exited, 0, next.stderr());
      assert.match(next.stderr(), /^keel: say why: \/reject apr_\w+ <reason>$/m);
      assert.match(next.stdout(), /apr_\w+ rejected by lee@example\.com; run run_\w+ resumes/);
      assert.match(
        next.stdout(),
        /approval apr_\w+: reject by lee@example\.com — please send a photo of the damage first/,
      );
      assert.match(next.stdout(), /support-triage> /);
    });

    // What the store holds does not change these answers: they are checked once, on PGlite, all at once.
    if (store === "PGlite")
      test("an unknown agent, an unknown session, a bad flag and a server that is down are one-line errors", async () => {
        const cases: [string[], number, RegExp][] = [
          [["nobody", "--url", server.url], 1, /^keel: no agent named "nobody"/],
          [
            ["support-triage", "--session", "ses_missing", "--url", server.url],
            1,
            /^keel: no session "ses_missing"/,
          ],
          [["support-triage", "--bogus", "--url", server.url], 2, /^keel: Unknown option '--bogus'/],
          [[], 2, /^keel: keel chat needs an agent/],
          [
            ["support-triage", "--url", "http://127.0.0.1:9"],
            1,
            /^keel: cannot reach the Keel server at http:\/\/127\.0\.0\.1:9/,
          ],
        ];
        // In this process, each with nothing on its stdin: a process apiece only repeated the start-up.
        await Promise.all(
          cases.map(async ([args, code, message]) => {
            const stdin = new PassThrough();
            stdin.end();
            const written: string[] = [];
            const io = { ...captureIo(), write: (text: string) => written.push(text), stdin };
            assert.equal(await main(["chat", ...args], io), code, args.join(" "));
            const stderr = io.stderr.join("\n");
            assert.match(stderr, message, args.join(" "));
            assert.doesNotMatch(stderr, /\n\s+at /, "no stack trace");
            assert.equal([...io.stdout, ...written].join(""), "");
          }),
        );
      });
  });
}
