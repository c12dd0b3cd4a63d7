/**
 * Shadow runs of the support example: a candidate version runs on a copy of every live run's input and never acts.
 * Over 1,000 live runs and their shadows, the shop's tables change exactly as the live runs changed them: after each
 * wave of shadows every row is as the live runs left it, and the side effects counted in the tables are the live
 * runs' alone.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { KeelGovernor } from "../../src/governance/create-governor.ts";
import type { JournalEvent, Principal } from "../../src/journal/events.ts";
import type { AgentDefinition } from "../../src/runtime/agent-definition.ts";
import { startRun } from "../../src/runtime/start-run.ts";
import { createWorker, type Worker } from "../../src/runtime/worker.ts";
import { createAgentGovernor } from "../../src/server/agent-policies.ts";
import { loadAgentPackages } from "../../src/server/create-keel.ts";
import { openStore } from "../../src/store/open-store.ts";
import type { SqlStore } from "../../src/store/sql-store.ts";
import { createTestDatabase, testDatabaseServerUrl } from "../../test/support/test-database.ts";
import { supportTriage } from "./index.ts";

const CANDIDATE = "1.1.0-candidate";
const SIDE_EFFECTS = ["create_ticket", "issue_refund", "send_email"];

/** Every flow of the example: refunds under and over review and the forbidden ones, look-ups, help, tickets. */
function inputOf(index: number): string {
  const order = 1001 + (index % 50);
  switch (index % 8) {
    case 0:
    case 1:
      return `I want a refund for order ${order}`;
    case 2:
      return `Where is my order ${order}?`;
    case 3:
      return "How long does shipping take abroad?";
    case 4:
      return `I'd like a partial refund of $20 for order ${order}`;
    case 5:
      return `My parcel ${order} arrived but the box smells of lavender, is that normal? #${index}`;
    case 6:
      return "hello";
    default:
      return `Did I get my refund for ${order}?`;
  }
}

const serverUrl = testDatabaseServerUrl();
const kinds = [
  {
    name: "on PGlite",
    runs: Number(process.env.SHADOW_RUNS ?? 1_000),
    skip: false as const,
    open: () => openStore({}),
  },
  {
    name: "on PostgreSQL",
    runs: 100,
    skip: serverUrl === null ? "no PostgreSQL on this machine (KEEL_TEST_DATABASE_URL is not set)" : false,
    open: async () => openStore({ databaseUrl: await createTestDatabase(serverUrl!) }),
  },
];

for (const kind of kinds) {
  describe(`shadow runs of the support-triage agent ${kind.name}`, { skip: kind.skip }, () => {
    let store: SqlStore;
    let governor: KeelGovernor;
    let worker: Worker;
    let stable: AgentDefinition;
    let candidate: AgentDefinition;

    before(async () => {
      store = await kind.open();
      const { agents, governed } = await loadAgentPackages({ store, packages: [supportTriage], env: {} });
      governor = await createAgentGovernor({ store, agents: governed, log: () => undefined });
      stable = agents.current("support-triage")!;
      // The candidate is the same package under a new version: its policies are loaded for it as for any version.
      candidate = { ...stable, version: CANDIDATE, versionHash: `${stable.versionHash}-candidate` };
      await governor.load({ ...governed[0]!, version: CANDIDATE });
      worker = createWorker({
        store,
        agents: (name, version) => (version === CANDIDATE ? candidate : agents.lookup(name, version)),
        governor,
        owner: "shadow-runs",
        leaseTtlMs: 10_000,
        concurrency: 32,
      });
      worker.start();
    });
    after(async () => {
      await worker?.stop();
      governor?.close();
      await store?.close();
    });

    async function settle(runIds: readonly string[]): Promise<void> {
      for (const runId of runIds) {
        for (let i = 0; ; i++) {
          const run = await store.getRun(runId);
          if (run && !["queued", "running"].includes(run.status)) break;
          if (i > 600) throw new Error(`run ${runId} did not settle`);
          await store.waitForEvents({ runId, afterSeq: run?.lastSeq ?? 0, timeoutMs: 100 });
        }
      }
    }

    /** Each side-effect table's row count and a digest of every row, as the tools left them. */
    async function shopTables(): Promise<Record<string, { rows: number; digest: string }>> {
      const tables: Record<string, { rows: number; digest: string }> = {};
      for (const table of ["refunds", "tickets", "outbox_emails", "orders"]) {
        const { rows } = await store.sql.query<{ rows: number; digest: string }>(
          `SELECT count(*)::int AS rows, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS digest
             FROM shop.${table} t`,
        );
        tables[table] = rows[0]!;
      }
      return tables;
    }

    test(`over ${kind.runs} shadow runs the candidate changes no row of the shop; the live runs' effects all happen`, {
      timeout: 300_000,
    }, async () => {
      const before = await shopTables();
      const live: string[] = [];
      const shadows: string[] = [];
      const wave = 100;
      for (let first = 0; first < kind.runs; first += wave) {
        const started: string[] = [];
        for (let index = first; index < Math.min(first + wave, kind.runs); index++) {
          const principal: Principal = {
            subject: `customer-${index % 25}@example.com`,
            tenant: "larkspur",
            roles: ["customer"],
          };
          const { run } = await startRun({ store, agent: stable, input: inputOf(index), principal });
          started.push(run.runId);
        }
        worker.poke();
        await settle(started);
        const afterLive = await shopTables();
        // The shadows start once their live runs have ended, so each side-effecting call can be answered with the
        // live run's result of the same call.
        const shadowed: string[] = [];
        for (const runId of started) {
          const liveRun = (await store.getRun(runId))!;
          const { run } = await startRun({
            store,
            agent: candidate,
            input: liveRun.input,
            principal: liveRun.principal,
            shadowOf: { runId },
          });
          shadowed.push(run.runId);
        }
        worker.poke();
        await settle(shadowed);
        assert.deepEqual(
          await shopTables(),
          afterLive,
          "the shadows of this wave changed no row of the shop",
        );
        live.push(...started);
        shadows.push(...shadowed);
      }

      // What the live runs did, from their journals: each side-effecting call that ended ok made exactly one row.
      const liveEffects: Record<string, number> = { create_ticket: 0, issue_refund: 0, send_email: 0 };
      for (const runId of live) {
        for (const event of await store.readEvents({ runId })) {
          if (event.type === "tool-call-end" && SIDE_EFFECTS.includes(event.payload.tool)) {
            assert.equal(event.payload.shadowed, undefined);
            if (event.payload.outcome === "ok") liveEffects[event.payload.tool]! += 1;
          }
        }
      }
      const after = await shopTables();
      assert.equal(after.tickets!.rows - before.tickets!.rows, liveEffects.create_ticket);
      assert.equal(after.refunds!.rows - before.refunds!.rows, liveEffects.issue_refund);
      assert.equal(after.outbox_emails!.rows - before.outbox_emails!.rows, liveEffects.send_email);
      assert.ok(liveEffects.create_ticket! > 0 && liveEffects.issue_refund! > 0, "the live runs acted");

      // What the shadows did: no side-effecting call ever started, each one's end says it was shadowed.
      const answers: Record<string, number> = {};
      let reviews = 0;
      let shadowedCalls = 0;
      for (const runId of shadows) {
        const events: JournalEvent[] = await store.readEvents({ runId });
        const start = events[0];
        assert.ok(start?.type === "run-start" && start.payload.shadowOf !== undefined);
        assert.equal((await store.getRun(runId))!.shadowOf, start.payload.shadowOf.runId);
        for (const event of events) {
          assert.notEqual(event.type, "approval-request", "a shadow run asks no person");
          if (event.type === "tool-call-start") {
            assert.ok(
              !SIDE_EFFECTS.includes(event.payload.tool),
              `${event.payload.tool} started in a shadow`,
            );
          }
          if (event.type === "tool-call-end" && SIDE_EFFECTS.includes(event.payload.tool)) {
            const shadowed = event.payload.shadowed;
            if (event.payload.error?.code === "denied") continue;
            assert.ok(shadowed, `a side-effecting call of a shadow ended without saying it was shadowed`);
            shadowedCalls += 1;
            answers[shadowed.answer] = (answers[shadowed.answer] ?? 0) + 1;
            if (shadowed.review) reviews += 1;
          }
          if (event.type === "policy-decision" && SIDE_EFFECTS.includes(event.payload.target ?? "")) {
            assert.equal(event.payload.shadowed, true);
          }
        }
      }
      assert.ok(shadowedCalls > 0);
      assert.ok((answers.live ?? 0) > 0, "shadows were answered with the live runs' results");
      assert.ok(reviews > 0, "the reviews a shadow would have asked for are journaled");
      const sessionRows = await store.sql.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM keel_session_runs s JOIN keel_runs r ON r.run_id = s.run_id
          WHERE r.shadow_of IS NOT NULL`,
      );
      assert.equal(sessionRows.rows[0]!.n, 0);
    });
  });
}
