import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { agentEvalTarget } from "../../src/evals/agent-eval-target.ts";
import { loadDataset } from "../../src/evals/load-dataset.ts";
import { runEval } from "../../src/evals/run-eval.ts";
import type { JournalEvent, Principal } from "../../src/journal/events.ts";
import type { AgentCatalog } from "../../src/runtime/agent-catalog.ts";
import { sendSignal } from "../../src/runtime/send-signal.ts";
import { startRun } from "../../src/runtime/start-run.ts";
import type { Worker } from "../../src/runtime/worker.ts";
import { INTERPRETED_NODE_KINDS } from "../../src/runtime/workflow-graph.ts";
import type { SqlStore } from "../../src/store/sql-store.ts";
import { type ServedPackages, servePackagesOffline } from "../../test/support/serve-packages-offline.ts";
import { invoiceApproval } from "./index.ts";

const clerk: Principal = { subject: "ap.clerk@example.com", tenant: "default", roles: ["ap-clerk"] };

function nodePath(events: readonly JournalEvent[]): string[] {
  return events.flatMap((event) => (event.type === "node-start" ? [event.payload.node] : []));
}

describe("the invoice-approval workflow, offline on PGlite", () => {
  let served: ServedPackages;
  let store: SqlStore;
  let agents: AgentCatalog;
  let worker: Worker;

  before(async () => {
    served = await servePackagesOffline([invoiceApproval], "invoice-approval");
    ({ store, agents, worker } = served);
  });
  after(async () => {
    await served?.close();
  });

  async function settle(
    runId: string,
  ): Promise<{ status: string; answer: string | null; events: JournalEvent[] }> {
    for (let i = 0; i < 400; i++) {
      const current = await store.getRun(runId);
      if (current && !["queued", "running"].includes(current.status)) {
        return {
          status: current.status,
          answer: current.answer ?? null,
          events: await store.readEvents({ runId }),
        };
      }
      await store.waitForEvents({ runId, afterSeq: current?.lastSeq ?? 0, timeoutMs: 100 });
    }
    throw new Error(`run ${runId} did not settle`);
  }

  async function run(input: string) {
    const agent = agents.current("invoice-approval")!;
    const { run } = await startRun({ store, agent, input, principal: clerk });
    worker.poke();
    return { runId: run.runId, ...(await settle(run.runId)) };
  }

  test("pays a matching invoice once, waits for the bank's signal, then notifies the vendor and ends", async () => {
    const paid = await run("Invoice: INV-70001\nVendor: Acme Supply Co\nPO: PO-1001\nTotal: USD 4800.00");
    assert.equal(paid.status, "suspended");
    assert.deepEqual(nodePath(paid.events), ["extract", "match", "route", "pay", "confirmed"]);
    const payments = await store.sql.query<{ invoice_id: string; amount_cents: string | number }>(
      "SELECT invoice_id, amount_cents FROM invoice_approval.payments WHERE invoice_id = 'INV-70001'",
    );
    assert.deepEqual(
      payments.rows.map((row) => [row.invoice_id, Number(row.amount_cents)]),
      [["INV-70001", 480_000]],
    );

    const delivered = await sendSignal({
      store,
      runId: paid.runId,
      name: "payment-confirmed",
      payload: { bankReference: "BNK-2201" },
      by: clerk,
    });
    assert.equal(delivered.resumed, true);
    worker.poke();
    const done = await settle(paid.runId);
    assert.equal(done.status, "completed");
    assert.match(
      done.answer ?? "",
      /^Paid INV-70001 \(USD 4800\.00\) to Acme Supply Co as PAY-\d{6}; the bank confirmed it and the vendor was notified\.$/,
    );
    assert.deepEqual(nodePath(done.events), [
      "extract",
      "match",
      "route",
      "pay",
      "confirmed",
      "notify",
      "done",
    ]);
    const notices = await store.sql.query<{ recipient: string; message: string }>(
      "SELECT recipient, message FROM invoice_approval.notices WHERE invoice_id = 'INV-70001'",
    );
    assert.equal(notices.rows.length, 1);
    assert.equal(notices.rows[0]!.recipient, "billing@acme-supply.example");
    assert.match(notices.rows[0]!.message, /the bank confirmed the transfer/);
  });

  test("sends an invoice on another vendor's purchase order to a person with an exception, and pays nothing", async () => {
    const result = await run("Invoice: INV-70002\nVendor: Acme Supply Co\nPO: PO-1003\nTotal: USD 1000.00");
    assert.deepEqual(nodePath(result.events), ["extract", "match", "route", "mismatch", "to-person"]);
    const exceptions = await store.sql.query<{ kind: string; reason: string }>(
      "SELECT kind, reason FROM invoice_approval.exceptions WHERE invoice_id = 'INV-70002'",
    );
    assert.deepEqual(exceptions.rows, [
      {
        kind: "vendor-mismatch",
        reason: "Purchase order PO-1003 is with Cobalt Freight, not Acme Supply Co.",
      },
    ]);
    const payments = await store.sql.query(
      "SELECT 1 FROM invoice_approval.payments WHERE invoice_id = 'INV-70002'",
    );
    assert.equal(payments.rows.length, 0);
  });

  test("asks the extract decision twice about a document it cannot read, then falls back to an exception", async () => {
    const result = await run("Please pay Acme 4800 dollars for October.");
    assert.deepEqual(nodePath(result.events), ["extract", "unreadable", "to-person"]);
    const extract = result.events.find(
      (event) => event.type === "node-end" && event.payload.node === "extract",
    );
    assert.equal(extract?.type === "node-end" && extract.payload.error?.code, "invalid_decision");
    assert.equal(result.events.filter((event) => event.type === "model-call-end").length, 2);
  });

  test("every eval case passes, or its run reached a node kind this Keel does not run yet", async () => {
    const dataset = await loadDataset(new URL("./evals/invoices.yaml", import.meta.url).pathname);
    assert.ok(dataset.cases.length >= 30, `${dataset.cases.length} cases`);
    const target = agentEvalTarget({
      store,
      agent: agents.current("invoice-approval")!,
      worker,
      model: "rules",
    });
    const result = await runEval({ dataset, target, graders: { custom: new Map() }, concurrency: 8 });
    const endCode = new Map<string, string | null>();
    for (const entry of result.cases) {
      const events = entry.run.runId ? await store.readEvents({ runId: entry.run.runId }) : [];
      const end = events.findLast((event) => event.type === "run-end");
      endCode.set(entry.caseId, end?.type === "run-end" ? (end.payload.error?.code ?? null) : null);
    }
    const unexplained = result.cases
      .filter((entry) => !entry.passed && endCode.get(entry.caseId) !== "unsupported_node")
      .map(
        (entry) =>
          `${entry.caseId}: ${entry.grades.filter((grade) => !grade.passed).map((grade) => grade.reason)}`,
      );
    assert.deepEqual(unexplained, []);
    // Paying and waiting for the bank uses only node kinds that run today, so those cases pass outright.
    const expectsPayment = new Set(
      dataset.cases
        .filter((entry) => entry.expect.tools?.order?.includes("pay_invoice"))
        .map((entry) => entry.id),
    );
    const paying = result.cases.filter((entry) => expectsPayment.has(entry.caseId));
    assert.ok(paying.length >= 10, `${paying.length} pay cases`);
    assert.deepEqual(
      paying.filter((entry) => !entry.passed).map((entry) => entry.caseId),
      [],
    );
    if (!INTERPRETED_NODE_KINDS.has("approval")) {
      const approvals = result.cases.filter((entry) => entry.category === "approval");
      assert.ok(approvals.every((entry) => endCode.get(entry.caseId) === "unsupported_node"));
    }
  });
});
