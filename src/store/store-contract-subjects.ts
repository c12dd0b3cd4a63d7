import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isKeelError } from "../errors/index.ts";
import { type JournalEvent, verifyChain } from "../journal/index.ts";
import { eraseSubject } from "./erase-subject.ts";
import { createSqlSealedArgumentsStore } from "./sealed-arguments.ts";
import { sqlSessionQueries } from "./session-queries.ts";
import { approvalRequest } from "./store-contract-approvals.ts";
import {
  runEnd,
  runStart,
  type StoreContractContext,
  stepStart,
  uniqueName,
} from "./store-contract-fixtures.ts";

const by = { subject: "privacy-officer", tenant: "default", roles: ["admin"] };

/**
 * Contract tests for data subjects: a run about a person stores its personal fields sealed under the person's key
 * and reads them plain, through every way of appending; erasing the person leaves them erased and every hash intact.
 */
export function subjectsContract(context: StoreContractContext): void {
  describe("data subjects", () => {
    const payloadsOf = async (runId: string) =>
      (
        await context.store.sql.query<{ payloads: string }>(
          "SELECT payloads FROM keel_event_batches WHERE run_id = $1 ORDER BY first_seq",
          [runId],
        )
      ).rows
        .map((row) => row.payloads)
        .join("\n");

    test("a run with a subject stores its personal fields sealed, reads them plain, and appends through a decision sealed too", async () => {
      const { store, peer } = context;
      const subject = uniqueName("person");
      const marker = uniqueName("secretfact");
      const runId = uniqueName("run");
      await store.createRun({ runId, start: runStart("concierge", `input ${marker}`), subject });
      const lease = await store.acquireLease({ runId, owner: "contract", ttlMs: 10_000 });
      assert.ok(lease?.sealWith, "the granted lease names the key");
      const written = await store.append({
        lease,
        events: [
          stepStart(1),
          {
            type: "tool-call-propose",
            payload: {
              step: 1,
              callId: "c1",
              tool: "lookup",
              arguments: { who: marker },
              argumentsHash: "h",
            },
          },
        ],
      });
      // What the writer gets back is plain, with the hashes of what was stored.
      assert.deepEqual((written[1]!.payload as { arguments: unknown }).arguments, { who: marker });
      await store.releaseLease(lease);
      const decided = await peer.journalTransaction({
        runId,
        owner: "contract",
        ttlMs: 10_000,
        release: true,
        decide: (journal: JournalEvent[]) => {
          // The decision reads the journal plain.
          assert.match(JSON.stringify(journal), new RegExp(`input ${marker}`));
          return { events: [runEnd(`answer ${marker}`)], result: null };
        },
      });
      assert.ok(decided);
      const stored = await payloadsOf(runId);
      assert.doesNotMatch(stored, new RegExp(marker));
      assert.match(stored, /"tool":"lookup"/);
      assert.match(stored, /"\$sealed":"sk_/);
      const read = await store.readEvents({ runId });
      assert.equal((read[0]!.payload as { input: string }).input, `input ${marker}`);
      assert.equal((read.at(-1)!.payload as { answer: string }).answer, `answer ${marker}`);
      const asStored = await store.readEvents({ runId, asStored: true });
      assert.equal(verifyChain(asStored).ok, true);
      assert.equal(verifyChain(read).ok, false, "the plain payloads are not what was hashed");
      assert.equal((await store.getRun(runId))?.answer, `answer ${marker}`);

      // The same id in another tenant is another person: erasing it there leaves this one readable.
      const elsewhere = await eraseSubject(store, {
        tenant: "globex",
        subject,
        by: { ...by, tenant: "globex" },
      });
      assert.deepEqual([elsewhere.counts.keys, elsewhere.counts.runs], [0, 0]);
      assert.equal(
        ((await store.readEvents({ runId }))[0]!.payload as { input: string }).input,
        `input ${marker}`,
      );
      const report = await eraseSubject(store, { tenant: "default", subject, by });
      assert.equal(report.counts.keys, 1);
      assert.equal(report.counts.runs, 1);
      const erased = await peer.readEvents({ runId });
      assert.equal(
        (erased[0]!.payload as { input: unknown }).input,
        "[erased]",
        "a string reads as a string",
      );
      assert.deepEqual((erased[2]!.payload as { arguments: unknown }).arguments, { erased: true });
      assert.equal((erased[2]!.payload as { tool: string }).tool, "lookup");
      assert.equal(verifyChain(await peer.readEvents({ runId, asStored: true })).ok, true);
      const run = await store.getRun(runId);
      assert.deepEqual([run?.input, run?.answer], ["[erased]", null]);
    });

    test("erasure blanks the approval queue's copy of a held call and the sealed originals of its arguments", async () => {
      const { store } = context;
      const subject = uniqueName("person");
      const marker = uniqueName("heldfact");
      const runId = uniqueName("run");
      await store.createRun({ runId, start: runStart("concierge", "please"), subject });
      const lease = await store.acquireLease({ runId, owner: "contract", ttlMs: 10_000 });
      assert.ok(lease);
      const request = approvalRequest("concierge", {
        summary: `refund ${marker}`,
        arguments: { note: marker },
        context: { ...approvalRequest("concierge").context, input: `input ${marker}`, recent: [marker] },
      });
      await store.append({ lease, events: [stepStart(1), { type: "approval-request", payload: request }] });
      await createSqlSealedArgumentsStore(store.sql).put([
        { runId, argumentsHash: "a".repeat(64), keyId: "k", nonce: "n", ciphertext: marker },
      ]);
      const held = async () =>
        (
          await store.sql.query<{ n: number | string }>(
            `SELECT (SELECT count(*) FROM keel_approvals WHERE run_id = $1 AND (request::text LIKE '%' || $2 || '%' OR summary LIKE '%' || $2 || '%'))
                  + (SELECT count(*) FROM keel_sealed_arguments WHERE run_id = $1) AS n`,
            [runId, marker],
          )
        ).rows[0]!.n;
      assert.equal(Number(await held()), 2, "the queue and the sealed originals hold it before");
      const report = await eraseSubject(store, { tenant: "default", subject, by });
      assert.deepEqual([report.counts.approvals, report.counts.sealedArguments], [1, 1]);
      assert.equal(Number(await held()), 0);
      const approval = await store.sql.query<{ request: { arguments: unknown; tool: string } }>(
        "SELECT request FROM keel_approvals WHERE run_id = $1",
        [runId],
      );
      assert.deepEqual(approval.rows[0]!.request.arguments, { erased: true });
      assert.equal(approval.rows[0]!.request.tool, "issue_refund");
    });

    test("erasure deletes what the subject's runs remembered for their caller, and a run about a person cannot be created leased by hand", async () => {
      const { store } = context;
      const subject = uniqueName("person");
      const runId = uniqueName("run");
      await store.createRun({ runId, start: runStart("concierge", "remember this"), subject });
      await store.sql.query(
        `INSERT INTO keel_memories (memory_id, tenant, agent, subject, text, data_classes, source)
         VALUES ($1, 'default', 'concierge', 'desk', 'the caller remembered it', '{internal}', $2),
                ($3, 'default', 'concierge', 'desk', 'another run remembered it', '{internal}', 'run:other')`,
        [uniqueName("mem"), `run:${runId}`, uniqueName("mem")],
      );
      const report = await eraseSubject(store, { tenant: "default", subject, by });
      assert.equal(report.counts.memories, 1);
      const { rows } = await store.sql.query<{ source: string }>(
        "SELECT source FROM keel_memories WHERE source IN ($1, 'run:other')",
        [`run:${runId}`],
      );
      assert.deepEqual(
        rows.map((row) => row.source),
        ["run:other"],
      );
      await assert.rejects(
        store.createRun({
          runId: uniqueName("run"),
          start: runStart("concierge", "hi"),
          subject,
          leaseTo: { owner: "hand", ttlMs: 1_000 },
        }),
        (error: unknown) => isKeelError(error, "invalid_request") && error.issues[0]?.path === "leaseTo",
      );
    });

    test("a run without a subject is stored as it always was, and its lease names no key", async () => {
      const { store } = context;
      const runId = uniqueName("run");
      await store.createRun({ runId, start: runStart("concierge", "plain input") });
      const lease = await store.acquireLease({ runId, owner: "contract", ttlMs: 10_000 });
      assert.ok(lease);
      assert.equal("sealWith" in lease, false);
      await store.append({ lease, events: [stepStart(1), runEnd("plain answer")] });
      const stored = await payloadsOf(runId);
      assert.match(stored, /plain input/);
      assert.match(stored, /plain answer/);
      assert.equal(verifyChain(await store.readEvents({ runId })).ok, true);
    });

    test("a session's run takes the session's subject, and naming another one is refused by field", async () => {
      const { store } = context;
      const sessions = sqlSessionQueries(store.sql);
      const agent = uniqueName("agent");
      const session = await sessions.createSession({
        agent,
        principal: { subject: "desk", tenant: "default", roles: [] },
        subject: uniqueName("customer"),
      });
      await assert.rejects(
        store.createRun({
          runId: uniqueName("run"),
          start: runStart(agent, "hi"),
          session: { sessionId: session.sessionId },
          subject: "someone-else",
        }),
        (error: unknown) => isKeelError(error, "invalid_request") && error.issues[0]?.path === "subject",
      );
      const { run } = await store.createRun({
        runId: uniqueName("run"),
        start: runStart(agent, "hello there"),
        session: { sessionId: session.sessionId },
      });
      const { rows } = await store.sql.query<{ subject: string }>(
        "SELECT subject FROM keel_runs WHERE run_id = $1",
        [run.runId],
      );
      assert.equal(rows[0]?.subject, session.subject);
      assert.doesNotMatch(await payloadsOf(run.runId), /hello there/);
    });

    test("erasing a subject nobody knows answers zero counts and still journals the request", async () => {
      const report = await eraseSubject(context.store, {
        tenant: "default",
        subject: uniqueName("nobody"),
        by,
      });
      assert.deepEqual(report.counts, {
        keys: 0,
        runs: 0,
        sessions: 0,
        memories: 0,
        approvals: 0,
        sealedArguments: 0,
        annotations: 0,
      });
      const record = await context.store.getRun(report.recordRunId);
      assert.equal(record?.status, "completed");
      assert.equal(record?.agent, "keel.erasure");
    });
  });
}
