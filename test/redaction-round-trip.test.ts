import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { z } from "zod";
import { decideApproval } from "../src/approvals/decide-approval.ts";
import { createGovernor, type KeelGovernor } from "../src/governance/create-governor.ts";
import { createMemoryGovernanceStore } from "../src/governance/memory-governance-store.ts";
import { createPayloadSealer } from "../src/guards/index.ts";
import type { Principal } from "../src/journal/events.ts";
import type { AgentDefinition } from "../src/runtime/agent-definition.ts";
import { governedTools } from "../src/runtime/governed-tools.ts";
import { sealEditedArguments } from "../src/runtime/seal-edited-arguments.ts";
import { startRun } from "../src/runtime/start-run.ts";
import { createWorker, type Worker } from "../src/runtime/worker.ts";
import { GovernanceSection } from "../src/spec/governance-section.ts";
import { GuardsSection } from "../src/spec/guards-section.ts";
import { openStore } from "../src/store/open-store.ts";
import { createSqlSealedArgumentsStore } from "../src/store/sealed-arguments.ts";
import type { SqlStore } from "../src/store/sql-store.ts";
import { defineTool } from "../src/tools/tool.ts";
import { scriptedAgent } from "./support/scripted-agent.ts";

// Planted values: a password the model puts in a held call, and a customer address and card in the answer.
const PASSWORD = "Zebra!42xQ-9fK2mL";
const EDITED_PASSWORD = "Quokka?77vR-3hN8pZ";
const CUSTOMER_EMAIL = "jane.doe@acme-corp.io";
const CARD = "4111 1111 1111 1111";
const ARGUMENTS = { account: "ops-admin", password: PASSWORD, note: `requested by ${CUSTOMER_EMAIL}` };

const customer: Principal = { subject: "omar@acme-corp.io", tenant: "acme", roles: ["customer"] };
const lead: Principal = { subject: "lee", tenant: "acme", roles: ["approver:qa"] };
const directories: string[] = [];
after(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

type Harness = {
  store: SqlStore;
  worker: Worker;
  governor: KeelGovernor;
  executed: unknown[];
  emails: unknown[];
  agent: AgentDefinition;
  close(): Promise<void>;
};

/** A process of Keel on a PGlite directory: store, governor and worker, optionally with a sealing key. */
async function boot(dataDir: string, key: Buffer | null): Promise<Harness> {
  const store = await openStore({ dataDir });
  const executed: unknown[] = [];
  const emails: unknown[] = [];
  const setPassword = defineTool({
    name: "set_password",
    description: "Set an account's password.",
    input: z.strictObject({ account: z.string(), password: z.string(), note: z.string() }),
    sideEffect: true,
    async execute(input) {
      executed.push(input);
      return { changed: true };
    },
  });
  const sendEmail = defineTool({
    name: "send_email",
    description: "Email a customer.",
    input: z.strictObject({ to: z.string(), body: z.string() }),
    sideEffect: true,
    sendsDataOutside: true,
    async execute(input) {
      emails.push(input);
      return { sent: true };
    },
  });
  const agent: AgentDefinition = {
    ...scriptedAgent({
      name: "credentials-desk",
      turns: [
        { kind: "tool-calls", calls: [{ callId: "c1", tool: "set_password", arguments: ARGUMENTS }] },
        {
          kind: "tool-calls",
          calls: [
            {
              callId: "c2",
              tool: "send_email",
              arguments: { to: CUSTOMER_EMAIL, body: `Done. Your card ${CARD} was not charged.` },
            },
          ],
        },
        { kind: "answer", text: `Done: I told ${CUSTOMER_EMAIL}; card ${CARD} untouched.` },
      ],
      tools: [setPassword, sendEmail],
    }),
    guards: GuardsSection.parse({}),
  };
  const governor = createGovernor({ store: createMemoryGovernanceStore() });
  await governor.load({
    name: agent.name,
    version: agent.version,
    governance: GovernanceSection.parse({
      allowedTools: ["set_password", "send_email"],
      decisionAuthority: { autonomous: ["send_email"], requiresHumanReview: ["set_password"] },
      dataAccess: { allowPii: true },
    }),
    tools: governedTools(agent.tools.values()),
    policyFiles: [],
  });
  const worker = createWorker({
    store,
    agents: (name, version) => (name === agent.name && version === agent.version ? agent : undefined),
    governor,
    owner: `redaction-${dataDir}`,
    leaseTtlMs: 5_000,
    ...(key
      ? { sealing: { sealer: createPayloadSealer(key), store: createSqlSealedArgumentsStore(store.sql) } }
      : {}),
  });
  worker.start();
  return {
    store,
    worker,
    governor,
    executed,
    emails,
    agent,
    async close() {
      await worker.stop();
      governor.close();
      await store.close();
    },
  };
}

async function settle(store: SqlStore, runId: string) {
  for (let attempt = 0; attempt < 500; attempt += 1) {
    const run = await store.getRun(runId);
    if (run && !["queued", "running"].includes(run.status)) return run;
    await store.waitForEvents({ runId, afterSeq: run?.lastSeq ?? 0, timeoutMs: 20 });
  }
  throw new Error(`run ${runId} did not settle`);
}

/** Every row of Keel's run tables as text: what a database dump would show. */
async function dump(store: SqlStore): Promise<string> {
  const tables = ["keel_events", "keel_runs", "keel_approvals", "keel_sealed_arguments"];
  const parts = await Promise.all(
    tables.map(
      async (table) => (await store.sql.query<{ row: string }>(`SELECT t::text AS row FROM ${table} t`)).rows,
    ),
  );
  return parts
    .flat()
    .map((entry) => entry.row)
    .join("\n");
}

/** Run up to the held call, restart the process, approve, and let the run finish. */
async function holdRestartApprove(key: Buffer | null, edit?: unknown) {
  const dataDir = mkdtempSync(join(tmpdir(), "keel-redaction-"));
  directories.push(dataDir);
  const first = await boot(dataDir, key);
  let run: Awaited<ReturnType<typeof startRun>>["run"];
  let whileHeld: string;
  try {
    ({ run } = await startRun({
      store: first.store,
      agent: first.agent,
      input: `Reset ops-admin and tell ${CUSTOMER_EMAIL}`,
      principal: customer,
    }));
    first.worker.poke();
    const held = await settle(first.store, run.runId);
    assert.equal(held.status, "suspended", JSON.stringify(held.error));
    whileHeld = await dump(first.store);
  } finally {
    // Closed on failure too: a worker left running keeps the test process alive until the runner kills it.
    await first.close();
  }

  const second = await boot(dataDir, key);
  try {
    const [pending] = await second.store.listApprovals({ status: "pending" });
    assert.ok(pending);
    await decideApproval({
      store: second.store,
      approvalId: pending.approvalId,
      input: {
        decision: "approve",
        approver: lead,
        argumentsHash: pending.argumentsHash!,
        ...(edit === undefined ? {} : { arguments: edit }),
      },
      // What keel serve passes: the approver's edit is masked and sealed like the model's calls.
      sealEdit: sealEditedArguments({
        lookup: (name, version) =>
          name === second.agent.name && version === second.agent.version ? second.agent : undefined,
        sealing: key
          ? { sealer: createPayloadSealer(key), store: createSqlSealedArgumentsStore(second.store.sql) }
          : undefined,
      }),
    });
    second.worker.poke();
    const done = await settle(second.store, run.runId);
    const afterwards = await dump(second.store);
    const events = await second.store.readEvents({ runId: run.runId });
    const sealedLeft = (
      await second.store.sql.query("SELECT 1 FROM keel_sealed_arguments WHERE run_id = $1", [run.runId])
    ).rows.length;
    return {
      done,
      whileHeld,
      afterwards,
      events,
      executed: second.executed,
      emails: second.emails,
      sealedLeft,
    };
  } finally {
    await second.close();
  }
}

describe("redaction before journaling, with sealed arguments", () => {
  test("an approval after a restart executes exactly the original arguments, and no table holds the secret in clear", async () => {
    const outcome = await holdRestartApprove(randomBytes(32));
    assert.equal(outcome.done.status, "completed");
    assert.deepEqual(outcome.executed, [ARGUMENTS]);
    for (const dump of [outcome.whileHeld, outcome.afterwards]) {
      assert.ok(!dump.includes(PASSWORD), "the password is nowhere in the database in clear");
    }
    assert.match(outcome.whileHeld, /\[REDACTED:password\]/);
    assert.equal(outcome.sealedLeft, 0, "sealed originals are dropped when the run ends");
  });

  test("an approver's edited arguments are masked in the journal and sealed, and exactly the edit runs", async () => {
    const edited = { ...ARGUMENTS, password: EDITED_PASSWORD };
    const outcome = await holdRestartApprove(randomBytes(32), edited);
    assert.equal(outcome.done.status, "completed");
    assert.deepEqual(outcome.executed, [edited]);
    assert.ok(!outcome.afterwards.includes(EDITED_PASSWORD), "the edited password is nowhere in clear");
    const revision = outcome.events.find(
      (event) => event.type === "tool-call-propose" && event.payload.revision !== undefined,
    );
    assert.ok(revision?.type === "tool-call-propose");
    assert.equal((revision.payload.arguments as { password: string }).password, "[REDACTED:password]");
    assert.equal(outcome.sealedLeft, 0);
  });

  test("the final answer and outbound arguments are masked, the recipient kept", async () => {
    const outcome = await holdRestartApprove(randomBytes(32));
    assert.equal(
      outcome.done.answer,
      "Done: I told [REDACTED:email]; card [REDACTED:payment_card] untouched.",
    );
    assert.deepEqual(outcome.emails, [
      { to: CUSTOMER_EMAIL, body: "Done. Your card [REDACTED:payment_card] was not charged." },
    ]);
    assert.ok(!outcome.afterwards.includes(`I told ${CUSTOMER_EMAIL}`), "the unmasked answer is not stored");
  });

  test("without a sealing key a masked held call is refused after a restart, never run with placeholders", async () => {
    const outcome = await holdRestartApprove(null);
    assert.deepEqual(outcome.executed, []);
    const end = outcome.events.find(
      (event) => event.type === "tool-call-end" && event.payload.callId === "c1",
    );
    assert.ok(end?.type === "tool-call-end");
    assert.equal(end.payload.outcome, "error");
    assert.match(end.payload.error?.message ?? "", /do not match the hash/);
    assert.ok(!outcome.afterwards.includes(PASSWORD));
  });
});
