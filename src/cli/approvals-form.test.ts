import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { claimsHelper, expenseClaimPackage } from "../../test/fixtures/workflow-packages/index.ts";
import { captureIo } from "../../test/support/capture-io.ts";
import { type RunningServer, startServer } from "../server/start-server.ts";
import { openStore } from "../store/open-store.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { main } from "./main.ts";

let store: SqlStore;
let server: RunningServer;
before(async () => {
  store = await openStore();
  server = await startServer({
    store,
    packages: [expenseClaimPackage(), claimsHelper],
    env: {},
    host: "127.0.0.1",
    port: 0,
    log: () => undefined,
  });
});
after(async () => {
  await server.close();
  await store.close();
});

async function runStatus(id: string, unlike: string): Promise<{ status: string; answer: string | null }> {
  for (let attempt = 0; attempt < 400; attempt++) {
    const run = (await (await fetch(`${server.url}/v1/runs/${id}`)).json()) as {
      status: string;
      answer: string | null;
    };
    if (run.status !== unlike && run.status !== "queued" && run.status !== "running") return run;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`run ${id} stayed ${unlike}`);
}

test("keel approvals shows a task's form and approves it with --form, refusing a form that misses a field", async () => {
  const started = await fetch(`${server.url}/v1/agents/expense-claim/runs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ input: JSON.stringify({ claimId: "C-2" }) }),
  });
  const { id } = (await started.json()) as { id: string };
  assert.equal((await runStatus(id, "running")).status, "suspended");
  const listed = (await (await fetch(`${server.url}/v1/approvals?run=${id}`)).json()) as {
    approvals: { id: string }[];
  };
  const approval = listed.approvals[0]!.id;
  const as = ["--url", server.url, "--as", "fin@example.com", "--roles", "approver:finance"];

  const shown = captureIo();
  assert.equal(await main(["approvals", "show", approval, "--url", server.url], shown), 0);
  assert.match(shown.stdout.join("\n"), /form \(approve with --form JSON matching it\): .*"approvedAmount"/);

  // Bad input is exit 2, as for every command.
  const missing = captureIo();
  assert.equal(
    await main(["approvals", "approve", approval, "--form", '{"note":"no amount"}', ...as], missing),
    2,
  );
  assert.match(missing.stderr.join("\n"), /values\.approvedAmount is required/);
  const notJson = captureIo();
  assert.equal(await main(["approvals", "approve", approval, "--form", "amount=5", ...as], notJson), 2);
  assert.match(notJson.stderr.join("\n"), /--form must be a JSON object/);
  assert.equal((await runStatus(id, "running")).status, "suspended");

  const approved = captureIo();
  assert.equal(
    await main(["approvals", "approve", approval, "--form", '{"approvedAmount":250}', ...as], approved),
    0,
    approved.stderr.join("\n"),
  );
  const ended = await runStatus(id, "suspended");
  assert.equal(ended.status, "completed");
  assert.equal(ended.answer, "Paid 250 on claim C-2");
});
