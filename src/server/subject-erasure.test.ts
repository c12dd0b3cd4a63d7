import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type ServerType, serve } from "@hono/node-server";
import { testStores } from "../../test/support/test-database.ts";
import { type JournalEvent, verifyChain } from "../journal/index.ts";
import { createScriptedModelProvider } from "../models/index.ts";
import { defineAgent } from "../runtime/index.ts";
import { foldEvents, isFinished } from "../runtime/run-state.ts";
import { startRun } from "../runtime/start-run.ts";
import { createAuditCheckpoint, loadAuditSigner, type SqlClient, type SqlStore } from "../store/index.ts";
import { verifyStoreAuditLog } from "../store/verify-store-audit-log.ts";
import { createKeel, type Keel } from "./create-keel.ts";

const SPEC = `apiVersion: keel/v1
kind: Agent
name: concierge
version: 1.0.0
description: Remembers what its users tell it.
owner: { team: qa }
riskTier: 3
prompt: ./prompt.md
model: { provider: rules, id: table, offline: ./rules.yaml }
tools: [remember, recall]
memory:
  longTerm: { retention: 30d, dataClasses: [internal] }
governance:
  allowedTools: [remember, recall]
  decisionAuthority: { autonomous: [remember, recall] }
`;
const RULES = `apiVersion: keel/v1\nkind: RulesTable\nrules:\n  - name: anything\n    when: { input: "." }\n    answer: "ok"\n`;

/** The erased subject's marker and another subject's: each is in every personal field of its person's runs. */
const ALICE = "quokkaberryalice";
const BOB = "wombatplumbob";

/**
 * The model's script, read from the run's own input (its last user message that is JSON): call each of `calls` in
 * turn, then answer `answer` followed by the last tool result, so the marker is in the model's text and tool
 * arguments, the tool's result and the answer.
 */
const script = createScriptedModelProvider({
  turns(request) {
    const own = request.messages.findLast(
      (message) =>
        message.role === "user" && typeof message.content === "string" && message.content.startsWith("{"),
    );
    const input = JSON.parse(own?.content as string) as {
      calls: { tool: string; arguments: unknown }[];
      answer: string;
    };
    const results = request.messages.filter((message) => message.role === "tool");
    const next = input.calls[results.length];
    if (next) return { kind: "tool-calls", calls: [{ callId: `c${results.length + 1}`, ...next }] };
    return { kind: "answer", text: `${input.answer} ${JSON.stringify(results.at(-1)?.content ?? null)}` };
  },
});

/** A run's input that remembers, then recalls, a fact carrying `marker`, and answers with it. */
const remembering = (marker: string) =>
  JSON.stringify({
    calls: [
      { tool: "remember", arguments: { text: `The customer ${marker} likes tea.`, dataClass: "internal" } },
      { tool: "recall", arguments: { query: `${marker} tea` } },
    ],
    answer: `Noted for ${marker}.`,
  });

/** Every text, JSON and byte column of every table, from the catalog, and how many rows hold `marker` in any. */
async function scanForMarker(sql: SqlClient, marker: string): Promise<string[]> {
  const { rows: columns } = await sql.query<{ table_name: string; column_name: string; data_type: string }>(
    `SELECT c.table_name, c.column_name, c.data_type
       FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
      WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
        AND (c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'bytea', 'tsvector', 'xml')
             OR c.data_type = 'ARRAY' OR c.data_type = 'USER-DEFINED')`,
  );
  assert.ok(columns.length > 50, `the catalog lists ${columns.length} columns to scan`);
  const hits: string[] = [];
  for (const { table_name: table, column_name: column, data_type: type } of columns) {
    const id = (name: string) => `"${name.replaceAll('"', '""')}"`;
    // Bytes are searched as bytes (the marker's UTF-8), everything else in its text form, any case.
    const condition =
      type === "bytea"
        ? `position(convert_to($1, 'UTF8') IN ${id(column)}) > 0 OR encode(${id(column)}, 'escape') ILIKE '%' || $1 || '%'`
        : `${id(column)}::text ILIKE '%' || $1 || '%'`;
    const { rows } = await sql.query<{ count: number | string }>(
      `SELECT count(*) AS count FROM ${id(table)} WHERE ${condition}`,
      [marker],
    );
    const count = Number(rows[0]?.count ?? 0);
    if (count > 0) hits.push(`${table}.${column} (${count})`);
  }
  return hits;
}

async function listen(fetch: (request: Request) => Promise<Response>) {
  const server = await new Promise<ServerType>((resolve) => {
    const created = serve({ fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(created));
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return { server, url: `http://127.0.0.1:${port}` };
}

for (const kind of testStores()) {
  describe(`erasing a data subject on ${kind.name}`, () => {
    let store: SqlStore;
    let keel: Keel;
    let server: ServerType;
    let url: string;
    const runs: Record<string, string> = {};
    let sessionId = "";

    const call = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };

    async function ended(runId: string): Promise<void> {
      for (let attempt = 0; attempt < 600; attempt += 1) {
        const run = (await store.getRun(runId))!;
        if (["completed", "failed", "cancelled"].includes(run.status)) {
          assert.equal(run.status, "completed", `run ${runId} ${JSON.stringify(run.error)}`);
          return;
        }
        keel.worker.poke();
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      throw new Error(`run ${runId} did not end within 15 s`);
    }

    before(async () => {
      store = await kind.open();
      const dir = await mkdtemp(join(tmpdir(), "keel-erasure-"));
      await writeFile(join(dir, "prompt.md"), "You remember.\n");
      await writeFile(join(dir, "rules.yaml"), RULES);
      await writeFile(join(dir, "agent.yaml"), SPEC);
      keel = await createKeel({
        store,
        agents: [defineAgent({ spec: join(dir, "agent.yaml"), tools: [] })],
        env: {},
        log: () => undefined,
        model: (_agent, chosen) => ({ ...chosen, provider: script }),
      });
      ({ server, url } = await listen(keel.fetch));

      // Alice's plain run (started as Alice, about Alice), with a memory; Bob's the same; and a session about Alice.
      for (const [name, marker] of [
        ["alice", ALICE],
        ["bob", BOB],
      ] as const) {
        const { run } = await startRun({
          store,
          agent: keel.agents.current("concierge")!,
          input: remembering(marker),
          principal: { subject: name, tenant: "default", roles: [] },
          subject: name,
        });
        runs[name] = run.runId;
        keel.worker.poke();
        await ended(run.runId);
      }
      const opened = await call("POST", "/v1/agents/concierge/sessions", { subject: "alice" });
      assert.equal(opened.status, 201, JSON.stringify(opened.body));
      sessionId = opened.body.id as string;
      const sent = await call("POST", `/v1/sessions/${sessionId}/messages`, {
        input: JSON.stringify({ calls: [], answer: `Session answer for ${ALICE}.` }),
      });
      assert.equal(sent.status, 202, JSON.stringify(sent.body));
      runs.session = (sent.body.runId ?? sent.body.id) as string;
      await ended(runs.session);
    });

    after(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await keel.close();
      await store.close();
    });

    test("a run's subject is checked like any field: an empty or overlong one is a 400 naming subject", async () => {
      for (const subject of ["", " ", "x".repeat(201), 42]) {
        const refused = await call("POST", "/v1/agents/concierge/runs", { input: "hello", subject });
        assert.equal(refused.status, 400, JSON.stringify(refused.body));
        const issues = (refused.body.error as { issues: { path: string }[] }).issues;
        assert.deepEqual(
          issues.map((issue) => issue.path),
          ["subject"],
        );
      }
    });

    test("before erasure a subject's runs read back plain everywhere, while the journal stores them sealed", async () => {
      const events = await store.readEvents({ runId: runs.alice! });
      const payload = (type: string) =>
        JSON.stringify(events.filter((event) => event.type === type).map((event) => event.payload));
      assert.match(payload("run-start"), new RegExp(ALICE));
      assert.match(payload("tool-call-propose"), new RegExp(`The customer ${ALICE} likes tea`));
      assert.match(payload("tool-call-end"), new RegExp(ALICE));
      assert.match(payload("run-end"), new RegExp(`Noted for ${ALICE}`));
      // The structural fields stay plain in what is stored: tool names, statuses, steps.
      const stored = await store.readEvents({ runId: runs.alice!, asStored: true });
      assert.doesNotMatch(JSON.stringify(stored), new RegExp(ALICE));
      assert.match(JSON.stringify(stored), /"tool":"remember"/);
      assert.equal(verifyChain(stored).ok, true);
      const { rows } = await store.sql.query<{ n: number | string }>(
        "SELECT count(*) AS n FROM keel_event_batches WHERE payloads ILIKE '%' || $1 || '%'",
        [ALICE],
      );
      assert.equal(Number(rows[0]!.n), 0, "no journal row holds the marker in clear");
      // Readers over HTTP see it plain: the session's messages and the run.
      const session = await call("GET", `/v1/sessions/${sessionId}`);
      assert.match(JSON.stringify(session.body), new RegExp(`Session answer for ${ALICE}`));
      const run = await call("GET", `/v1/runs/${runs.alice}`);
      assert.equal(run.status, 200);
      assert.match(JSON.stringify(run.body), new RegExp(ALICE));
    });

    test("a subject run's journal replays to the same state as it ran: the runtime resumes from what it reads", async () => {
      const events = await store.readEvents({ runId: runs.alice! });
      const state = foldEvents(events);
      assert.equal(isFinished(state), true);
      assert.match(JSON.stringify(state), new RegExp(`The customer ${ALICE} likes tea`));
    });

    test("erasure leaves no readable trace of the subject in any table while the journal and audit log verify", async () => {
      // A person's comment on each run: a plain copy beside the journal.
      for (const [name, marker] of [
        ["alice", ALICE],
        ["bob", BOB],
      ] as const) {
        const rated = await call("POST", `/v1/runs/${runs[name]}/feedback`, {
          rating: "up",
          comment: `Helpful for ${marker}.`,
        });
        assert.equal(rated.status, 201, JSON.stringify(rated.body));
      }
      const signer = await loadAuditSigner(store.sql);
      const checkpoint = await createAuditCheckpoint(store.sql, { signer });
      assert.ok(checkpoint, "a checkpoint signed before the erasure");
      assert.ok((await scanForMarker(store.sql, ALICE)).length > 0, "the marker is there before erasure");

      const erased = await call("POST", "/v1/subjects/alice/erase");
      assert.equal(erased.status, 200, JSON.stringify(erased.body));
      assert.deepEqual(erased.body.erased, {
        keys: 1,
        runs: 2,
        sessions: 1,
        memories: 1,
        approvals: 0,
        sealedArguments: 0,
        annotations: 1,
      });
      const record = erased.body.record as { runId: string; subjectHash: string };

      assert.deepEqual(
        await scanForMarker(store.sql, ALICE),
        [],
        "no column of any table holds Alice's marker",
      );
      assert.ok((await scanForMarker(store.sql, BOB)).length > 0, "Bob's data is untouched");
      const bob = await store.readEvents({ runId: runs.bob! });
      assert.match(JSON.stringify(bob), new RegExp(`The customer ${BOB} likes tea`));

      // Every run's chain verifies from what is stored, as `keel journal verify` checks it over HTTP.
      for (const runId of [runs.alice!, runs.session!, runs.bob!, record.runId]) {
        const journal = await call("GET", `/v1/runs/${runId}/journal`);
        assert.equal(journal.status, 200);
        const verdict = verifyChain(journal.body.events as JournalEvent[]);
        assert.equal(verdict.ok, true, `${runId}: ${JSON.stringify(verdict)}`);
      }
      // And the audit log, in full (every leaf recomputed from the stored events), as `keel audit verify --full` does.
      const audit = await verifyStoreAuditLog(store.sql, { incremental: false });
      assert.equal(audit.ok, true, JSON.stringify(audit));

      // Readers show what was erased as erased, never a 500: the run view, its events, the session (gone).
      const view = await call("GET", `/v1/runs/${runs.alice}`);
      assert.equal(view.status, 200);
      assert.doesNotMatch(JSON.stringify(view.body), new RegExp(ALICE));
      const events = await store.readEvents({ runId: runs.alice! });
      const end = events.find((event) => event.type === "run-end");
      assert.ok(end && end.type === "run-end");
      assert.equal(end.payload.answer, "[erased]", "a string field reads as a string");
      const propose = events.find((event) => event.type === "tool-call-propose");
      assert.ok(propose && propose.type === "tool-call-propose");
      assert.deepEqual(propose.payload.arguments, { erased: true });
      assert.equal(propose.payload.tool, "remember");
      assert.equal((await call("GET", `/v1/sessions/${sessionId}`)).status, 404);
      const stream = await fetch(`${url}/v1/runs/${runs.alice}/events`);
      assert.equal(stream.status, 200);
      assert.match(await stream.text(), /"erased":true/);

      // The erasure is journaled: a keel.erasure run naming the subject by hash, with the counts and who asked.
      const recorded = await store.readEvents({ runId: record.runId });
      const last = recorded.at(-1);
      assert.ok(last && last.type === "run-end" && typeof last.payload.answer === "string");
      const answer = JSON.parse(last.payload.answer) as Record<string, unknown>;
      assert.equal(answer.subjectHash, record.subjectHash);
      assert.deepEqual(answer.counts, erased.body.erased);

      // A subject Keel never saw: zero counts, no error.
      const unknown = await call("POST", "/v1/subjects/nobody-here/erase");
      assert.equal(unknown.status, 200);
      assert.deepEqual(unknown.body.erased, {
        keys: 0,
        runs: 0,
        sessions: 0,
        memories: 0,
        approvals: 0,
        sealedArguments: 0,
        annotations: 0,
      });
    });
  });
}
