import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { main } from "../src/cli/main.ts";
import { EvalCase } from "../src/evals/eval-case.ts";
import type { JournalEvent } from "../src/journal/events.ts";
import { verifyChain } from "../src/journal/verify-chain.ts";
import { captureIo } from "./support/capture-io.ts";

const entry = new URL("../src/cli/main.ts", import.meta.url).pathname;

/** `keel serve` on a data directory, as its own process; resolves with its URL once it listens. */
async function serve(dataDir: string): Promise<{ process: ChildProcess; url: string }> {
  const server = spawn(process.execPath, [entry, "serve", "--port", "0", "--data-dir", dataDir], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, DATABASE_URL: "" },
  });
  let url = "";
  for await (const line of createInterface({ input: server.stdout! })) {
    const match = /^Keel is running at (\S+)/.exec(line);
    if (match) url = match[1]!;
    if (line.startsWith("stop:")) break;
  }
  assert.ok(url, "keel serve printed its URL");
  return { process: server, url };
}

async function stop(server: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (server.exitCode !== null) return;
  const exited = new Promise((resolve) => server.once("exit", resolve));
  server.kill(signal);
  await exited;
}

async function api<T>(
  url: string,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: T }> {
  const response = await fetch(`${url}${path}`, init);
  return { status: response.status, body: (await response.json()) as T };
}

async function waitForStatus(
  url: string,
  runId: string,
  wanted: string,
): Promise<{ status: string; answer: string | null }> {
  for (let i = 0; i < 400; i++) {
    const { body } = await api<{ status: string; answer: string | null }>(url, `/v1/runs/${runId}`);
    if (body.status === wanted) return body;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`run ${runId} never became ${wanted}`);
}

const decision = (subject: string, roles: string, body: unknown): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", "x-keel-subject": subject, "x-keel-roles": roles },
  body: JSON.stringify(body),
});

/** A credential an approver pastes into a comment by mistake. */
const LEDGER_TOKEN = "ghp_16C7e42F292c6912E7710c838347Ae178B4a";

describe("an approval round trip through the HTTP API and the CLI, across a restart of keel serve", () => {
  let dataDir: string;
  let server: ChildProcess | undefined;

  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), "keel-approvals-"));
  });
  after(async () => {
    if (server) await stop(server, "SIGTERM");
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("a refund of 281.00 waits in the support leads' queue, survives a SIGKILL, is approved from the CLI and the run finishes", async () => {
    const first = await serve(dataDir);
    server = first.process;
    const created = await api<{ id: string }>(first.url, "/v1/agents/support-triage/runs", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ input: "I want a refund for order 1017" }),
    });
    assert.equal(created.status, 202);
    const runId = created.body.id;
    await waitForStatus(first.url, runId, "suspended");

    type Listed = {
      id: string;
      tool: string;
      routeTo: string;
      priority: string;
      arguments: { amount: string };
      argumentsHash: string;
      requestedBy: string;
    };
    const queue = await api<{ approvals: Listed[] }>(
      first.url,
      "/v1/approvals?team=support-leads&tool=issue_refund",
    );
    const pending = queue.body.approvals.find((approval) => approval.tool === "issue_refund");
    assert.ok(pending);
    assert.deepEqual(
      [pending.routeTo, pending.priority, pending.arguments.amount],
      ["support-leads", "high", "281.00"],
    );

    // Nobody anonymous decides, and the person the run acts for never approves their own request.
    const anonymous = await api<{ error: { code: string } }>(
      first.url,
      `/v1/approvals/${pending.id}/decision`,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ decision: "approve", argumentsHash: pending.argumentsHash }),
      },
    );
    assert.equal(anonymous.status, 401);
    const self = await api<{ error: { code: string; message: string } }>(
      first.url,
      `/v1/approvals/${pending.id}/decision`,
      decision(pending.requestedBy, "approver:support-leads", {
        decision: "approve",
        argumentsHash: pending.argumentsHash,
      }),
    );
    assert.equal(self.status, 403);
    assert.match(self.body.error.message, /separation of duties/);

    // The process dies with the request unanswered: nothing of the run is held anywhere but the store.
    await stop(first.process, "SIGKILL");
    const second = await serve(dataDir);
    server = second.process;

    const io = captureIo();
    assert.equal(await main(["approvals", "list", "--team", "support-leads", "--url", second.url], io), 0);
    assert.match(io.stdout.join("\n"), new RegExp(`${pending.id}\\s+high\\s+support-leads\\s+tool-call`));
    assert.match(io.stdout.join("\n"), /support-triage wants to call issue_refund/);
    const shown = captureIo();
    assert.equal(await main(["approvals", "show", pending.id, "--url", second.url], shown), 0);
    assert.match(shown.stdout.join("\n"), /why: refunds above 100 need a support lead/);
    assert.match(shown.stdout.join("\n"), /input: I want a refund for order 1017/);

    const approving = captureIo();
    const code = await main(
      [
        "approvals",
        "approve",
        pending.id,
        "--as",
        "lee@example.com",
        "--roles",
        "approver:support-leads",
        "--comment",
        `checked in the ledger with token ${LEDGER_TOKEN}`,
        "--url",
        second.url,
      ],
      approving,
    );
    assert.equal(code, 0, approving.stderr.join("\n"));
    assert.match(approving.stdout.join("\n"), /approved by lee@example\.com; run .* resumes/);

    const done = await waitForStatus(second.url, runId, "completed");
    assert.match(done.answer ?? "", /I've issued refund #\d+ of 281\.00 USD for order 1017/);
    const { body: journal } = await api<{ events: JournalEvent[] }>(second.url, `/v1/runs/${runId}/journal`);
    assert.equal(verifyChain(journal.events).ok, true);
    const refunds = journal.events.filter(
      (event) => event.type === "tool-call-start" && event.payload.tool === "issue_refund",
    );
    assert.equal(refunds.length, 1, "the approved refund ran exactly once");
    const approved = journal.events.find((event) => event.type === "approval-decision");
    assert.ok(approved?.type === "approval-decision");
    assert.deepEqual(
      [approved.payload.by.subject, approved.payload.argumentsHash],
      ["lee@example.com", pending.argumentsHash],
    );
    // What the approver wrote is masked before it is journaled, like everything else the run carries.
    assert.equal(approved.payload.comment, "checked in the ledger with token [REDACTED:github_token]");
    assert.equal(JSON.stringify(journal.events).includes(LEDGER_TOKEN), false);

    // A second approval, over HTTP or from the CLI, is refused: the request is settled.
    const again = await api<{ error: { message: string } }>(
      second.url,
      `/v1/approvals/${pending.id}/decision`,
      decision("kim@example.com", "approver:support-leads", {
        decision: "approve",
        argumentsHash: pending.argumentsHash,
      }),
    );
    assert.equal(again.status, 409);
    assert.match(again.body.error.message, /already approved by lee@example\.com/);
    const cliAgain = captureIo({ KEEL_SUBJECT: "kim@example.com", KEEL_ROLES: "approver:support-leads" });
    assert.equal(await main(["approvals", "approve", pending.id, "--url", second.url], cliAgain), 1);

    const metrics = await api<{
      byAgentTool: { agent: string; tool: string; approved: number; approvalRate: number }[];
    }>(second.url, "/v1/approvals/metrics");
    const refund = metrics.body.byAgentTool.find((entry) => entry.tool === "issue_refund");
    assert.deepEqual([refund?.approved, refund?.approvalRate], [1, 1]);
    const text = await (await fetch(`${second.url}/metrics`)).text();
    assert.match(
      text,
      /keel_approval_requests\{agent="support-triage",tool="issue_refund",status="approved"\} 1/,
    );

    // The decision can become an eval case.
    const dataset = join(dataDir, "escalations.jsonl");
    const promoting = captureIo();
    assert.equal(
      await main(["approvals", "promote", pending.id, "--dataset", dataset, "--url", second.url], promoting),
      0,
    );
    const promoted = EvalCase.parse(JSON.parse(readFileSync(dataset, "utf8").trim().split("\n").at(-1)!));
    assert.deepEqual(
      [promoted.source?.kind, promoted.input],
      ["escalation", "I want a refund for order 1017"],
    );
  });
});
