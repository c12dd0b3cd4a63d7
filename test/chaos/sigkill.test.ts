/**
 * Chaos: `keel serve` is SIGKILLed again and again with runs in flight — refunds that are rate limited (5 an
 * hour) and whose effect lands before the tool returns, order look-ups, tickets, refunds held for a person — and
 * restarted on the same store each time. Afterwards every run has ended or waits for a person, no side effect
 * happened twice, no journal entry contradicts a side effect (a refund in the shop's table is never journaled as
 * refused or failed), and every journal and the audit log verify.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { main } from "../../src/cli/main.ts";
import { seededRandom } from "../../src/evals/statistics.ts";
import type { JournalEvent } from "../../src/journal/events.ts";
import { openStore } from "../../src/store/open-store.ts";
import type { SqlClient } from "../../src/store/store.ts";
import { captureIo } from "../support/capture-io.ts";
import { type KeelServer, startKeelServer } from "../support/keel-server.ts";
import { createTestDatabase, testDatabaseServerUrl } from "../support/test-database.ts";

const KILLS = 20;
const packages = new URL("./slow-refund-packages.ts", import.meta.url).pathname;
/** Orders of at most 100.00, paid: a full refund of one runs without review. */
const SMALL_ORDERS = [1001, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 1019, 1020, 1025];

function inputsFor(round: number): string[] {
  const inputs = [`I want a refund for order ${SMALL_ORDERS[round % SMALL_ORDERS.length]}`];
  if (round % 3 === 0) inputs.push("Where is my order 1042?");
  if (round % 5 === 1) inputs.push("I want a refund for order 1017"); // 281.00: held for a support lead
  if (round % 4 === 2) inputs.push("My parcel arrived damaged and I want to talk to someone");
  return inputs;
}

async function api<T>(url: string, path: string, init: RequestInit = {}): Promise<T> {
  // A server that takes a request and never answers fails the test here, not after the run's limit.
  const response = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(60_000), ...init });
  if (!response.ok)
    throw new Error(`${init.method ?? "GET"} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

async function startRun(url: string, input: string): Promise<string | null> {
  try {
    const run = await api<{ id: string }>(url, "/v1/agents/support-triage/runs", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ input }),
    });
    return run.id;
  } catch {
    return null; // the server died under the request: the run may or may not exist, and is found by listing
  }
}

/**
 * Resolve once the run's journal shows `issue_refund` started (the refund is being written), or after `timeoutMs`
 * when it never does (a rate-limited or held refund): the moment to kill for a side effect with no recorded end.
 */
async function refundStarted(url: string, runId: string, timeoutMs: number): Promise<boolean> {
  const abort = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(`${url}/v1/runs/${runId}/events`, { signal: abort });
    const decoder = new TextDecoder();
    let text = "";
    for await (const chunk of response.body!) {
      text += decoder.decode(chunk as Uint8Array, { stream: true });
      const blocks = text.split("\n\n");
      text = blocks.pop() ?? "";
      if (
        blocks.some((block) => block.includes("event: tool-call-start") && block.includes('"issue_refund"'))
      )
        return true;
    }
  } catch {
    // timed out, or the server went away
  }
  return false;
}

async function settle(url: string): Promise<{ id: string; status: string }[]> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { runs } = await api<{ runs: { id: string; status: string }[] }>(url, "/v1/runs?limit=500");
    if (runs.every((run) => run.status !== "queued" && run.status !== "running")) return runs;
    if (Date.now() > deadline) {
      throw new Error(`runs still moving: ${JSON.stringify(runs.filter((run) => run.status === "running"))}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

type Effect = { key: string; table: string };

/** Each side effect the shop holds must agree with the journal of the run whose call made it, and vice versa. */
function checkAgreement(journals: Map<string, JournalEvent[]>, effects: readonly Effect[]): string[] {
  const problems: string[] = [];
  const keys = new Set(effects.map((effect) => effect.key));
  for (const effect of effects) {
    const [runId, callId] = effect.key.split(":");
    const events = journals.get(runId!) ?? [];
    const ends = events.filter((event) => event.type === "tool-call-end" && event.payload.callId === callId);
    for (const end of ends) {
      if (end.type !== "tool-call-end") continue;
      if (end.payload.outcome === "error" && end.payload.error?.code !== "in_doubt") {
        problems.push(
          `${effect.table} ${effect.key} exists, but the journal says ${end.payload.error?.code}`,
        );
      }
    }
    if (ends.length > 1) problems.push(`${effect.key} has ${ends.length} ends`);
  }
  for (const [runId, events] of journals) {
    for (const event of events) {
      if (event.type !== "tool-call-end" || event.payload.outcome !== "ok") continue;
      const tool = event.payload.tool;
      if (tool !== "issue_refund" && tool !== "create_ticket") continue;
      const start = events.findLast(
        (candidate) =>
          candidate.type === "tool-call-start" && candidate.payload.callId === event.payload.callId,
      );
      const key =
        start?.type === "tool-call-start" ? start.payload.idempotencyKey : `${runId}:${event.payload.callId}`;
      if (!keys.has(key))
        problems.push(`the journal of ${runId} says ${tool} succeeded, but ${key} has no row`);
    }
  }
  return problems;
}

type Reservation = { id: string; status: string; tokens: number; settled: number | null };

/**
 * The budget ledger must agree with itself and with the journals: every counter holds exactly the sum of its
 * reservations (a hold taken again on resume is not counted twice), every settlement a journal records is the
 * ledger's, once, and a run that ended holds nothing.
 */
async function checkBudgets(
  sql: SqlClient,
  journals: Map<string, JournalEvent[]>,
  runs: readonly { id: string; status: string }[],
): Promise<string[]> {
  const problems: string[] = [];
  const reservations = (
    await sql.query<Reservation>(
      `SELECT reservation_id AS id, status, tokens::int AS tokens, settled_tokens::int AS settled
         FROM keel_budget_reservations`,
    )
  ).rows;
  const byId = new Map(reservations.map((reservation) => [reservation.id, reservation]));
  const counters = (
    await sql.query<{ scope: string; spent: number; reserved: number }>(
      `SELECT scope, sum(spent_tokens)::int AS spent, sum(reserved_tokens)::int AS reserved
         FROM keel_budget_counters GROUP BY scope`,
    )
  ).rows;
  // The offline model reports no usage, so settlements are of 0 tokens; what is checked is the holds' accounting.
  if (!reservations.some((reservation) => reservation.status === "settled" && reservation.tokens > 0))
    problems.push("no budget hold was taken and settled");
  for (const counter of counters) {
    const held = counter.scope.startsWith("run:")
      ? reservations.filter((reservation) => reservation.id.startsWith(`${counter.scope.slice(4)}:`))
      : reservations;
    const spent = held.reduce((sum, r) => sum + (r.status === "settled" ? (r.settled ?? 0) : 0), 0);
    const reserved = held.reduce((sum, r) => sum + (r.status === "open" ? r.tokens : 0), 0);
    if (counter.spent !== spent || counter.reserved !== reserved)
      problems.push(
        `${counter.scope} counts ${counter.spent} spent and ${counter.reserved} held, its reservations ${spent} and ${reserved}`,
      );
  }
  for (const run of runs) {
    const settled = new Set<string>();
    for (const event of journals.get(run.id) ?? []) {
      if (event.type !== "budget-settle") continue;
      const { reservationId, tokens } = event.payload;
      if (settled.has(reservationId)) problems.push(`${reservationId} is settled twice in the journal`);
      settled.add(reservationId);
      const row = byId.get(reservationId);
      if (row?.status !== "settled" || row.settled !== tokens)
        problems.push(
          `the journal settles ${reservationId} at ${tokens} tokens, the ledger has ${JSON.stringify(row)}`,
        );
    }
    if (run.status === "suspended") continue;
    for (const reservation of reservations) {
      if (reservation.id.startsWith(`${run.id}:`) && reservation.status === "open")
        problems.push(`${run.id} ended ${run.status} still holding ${reservation.id}`);
    }
  }
  return problems;
}

const stores: { name: string; target: () => Promise<{ dataDir?: string; databaseUrl?: string } | null> }[] = [
  { name: "PGlite", target: async () => ({ dataDir: mkdtempSync(join(tmpdir(), "keel-chaos-")) }) },
  {
    name: "PostgreSQL",
    target: async () => {
      const server = testDatabaseServerUrl();
      return server ? { databaseUrl: await createTestDatabase(server) } : null;
    },
  },
];

for (const store of stores) {
  describe(`keel serve SIGKILLed ${KILLS} times with runs in flight (${store.name})`, () => {
    // Twenty server starts on one store: minutes on a loaded machine, more than the runner's default per test.
    test("every run ends or waits, no side effect happens twice or is journaled as not having happened, and everything verifies", {
      timeout: 540_000,
    }, async (t) => {
      const where = await store.target();
      if (!where) return t.skip("PostgreSQL is not installed");
      const seed = Number(process.env.KEEL_CHAOS_SEED ?? Date.now() % 1_000_000);
      t.diagnostic(`seed ${seed} (KEEL_CHAOS_SEED=${seed} replays this schedule)`);
      const next = seededRandom(seed);
      const serverOptions = { ...where, args: ["--packages", packages, "--lease-ttl", "1"] };
      let server: KeelServer | null = null;
      try {
        for (let round = 0; round < KILLS; round++) {
          server = await startKeelServer(serverOptions);
          const url = server.url;
          const pending = inputsFor(round).map((input) => startRun(url, input));
          if (round % 2 === 0) {
            // Mid-refund: the refund row is committed and the tool has not returned.
            const refundRun = await pending[0]!;
            if (refundRun && (await refundStarted(url, refundRun, 4_000))) {
              await new Promise((resolve) => setTimeout(resolve, 100));
            }
          } else {
            // At a random point: while runs start, while earlier runs resume, between steps.
            await new Promise((resolve) => setTimeout(resolve, 50 + Math.floor(next() * 1_400)));
          }
          await server.stop("SIGKILL");
          await Promise.all(pending);
        }
        server = await startKeelServer(serverOptions);
        const runs = await settle(server.url);
        assert.ok(runs.length >= KILLS, `at least one run per round was created (${runs.length})`);
        for (const run of runs) {
          assert.ok(
            ["completed", "failed", "cancelled", "suspended"].includes(run.status),
            `${run.id} ended or waits (${run.status})`,
          );
        }
        const journals = new Map<string, JournalEvent[]>();
        for (const run of runs) {
          const { events } = await api<{ events: JournalEvent[] }>(server.url, `/v1/runs/${run.id}/journal`);
          journals.set(run.id, events);
        }
        const verified = captureIo();
        const code = await main(
          ["journal", "verify", ...runs.map((run) => run.id), "--url", server.url],
          verified,
        );
        assert.equal(code, 0, verified.stderr.join("\n"));
        await server.stop("SIGTERM");
        server = null;

        const opened = await openStore(
          where.databaseUrl
            ? { databaseUrl: where.databaseUrl }
            : { dataDir: join(where.dataDir!, "pgdata") },
        );
        let effects: Effect[];
        try {
          const rows = await opened.sql.query<{ key: string; table: string }>(
            `SELECT idempotency_key AS key, 'refund' AS table FROM shop.refunds WHERE idempotency_key LIKE 'run_%'
             UNION ALL
             SELECT idempotency_key, 'ticket' FROM shop.tickets WHERE idempotency_key LIKE 'run_%'`,
          );
          effects = rows.rows;
          // No refund was paid twice: at most what each order allows.
          const over = await opened.sql.query<{ id: number }>(
            `SELECT o.id FROM shop.orders o JOIN shop.refunds r ON r.order_id = o.id
             GROUP BY o.id, o.total_cents HAVING sum(r.amount_cents) > o.total_cents`,
          );
          assert.deepEqual(over.rows, [], "no order was refunded more than its total");
          assert.deepEqual(await checkBudgets(opened.sql, journals, runs), []);
        } finally {
          await opened.close();
        }
        assert.ok(
          effects.some((effect) => effect.table === "refund"),
          "refunds happened during the chaos",
        );
        assert.deepEqual(checkAgreement(journals, effects), []);
        const events = [...journals.values()].flat();
        const inDoubt = events.filter(
          (event) => event.type === "tool-call-end" && event.payload.error?.code === "in_doubt",
        );
        // Caught mid-call: found applied by the tool's reconcile hook, or started again.
        const retried = events.filter(
          (event) =>
            (event.type === "tool-call-end" &&
              event.payload.tool === "issue_refund" &&
              event.payload.reconciled) ||
            (event.type === "tool-call-start" &&
              event.payload.tool === "issue_refund" &&
              event.payload.attempt > 1),
        );
        assert.ok(
          retried.length > 0,
          "at least one refund was caught with its effect applied and no recorded end",
        );
        t.diagnostic(
          `${runs.length} runs, ${effects.length} side effects, ${retried.length} refunds resumed mid-call, ${inDoubt.length} in doubt, statuses ${JSON.stringify(
            Object.groupBy(runs, (run) => run.status),
            (key, value) => (Array.isArray(value) && key !== "" ? value.length : value),
          )}`,
        );

        const audit = captureIo(where.databaseUrl ? { DATABASE_URL: where.databaseUrl } : {});
        const auditCode = await main(
          ["audit", "verify", ...(where.dataDir ? ["--data-dir", where.dataDir] : [])],
          audit,
        );
        assert.equal(auditCode, 0, [...audit.stdout, ...audit.stderr].join("\n"));
      } finally {
        await server?.stop("SIGKILL");
        if (where.dataDir) rmSync(where.dataDir, { recursive: true, force: true });
      }
    });
  });
}
