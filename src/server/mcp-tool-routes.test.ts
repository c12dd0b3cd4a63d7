import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { captureIo } from "../../test/support/capture-io.ts";
import { importAgentPackages } from "../cli/agent-packages.ts";
import { main } from "../cli/main.ts";
import { createSqlApiKeyStore } from "../governance/sql-api-key-store.ts";
import { openStore } from "../store/open-store.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { type RunningServer, startServer } from "./start-server.ts";

const FIXTURE = join(import.meta.dirname, "..", "..", "test", "support", "mcp-fixture-server.ts");

/** An offline agent package whose only tools come from the fixture MCP server, its listing poisoned or not. */
function writeMcpAgent(options: { poisoned: boolean }): string {
  const dir = mkdtempSync(join(tmpdir(), "keel-mcp-agent-"));
  writeFileSync(
    join(dir, "agent.yaml"),
    `apiVersion: keel/v1
kind: Agent
name: ticket-desk
version: 1.0.0
description: Opens and summarizes tickets through the tickets MCP server.
owner: { team: desk }
riskTier: 3
prompt: ./prompt.md
model: { provider: rules, id: offline, offline: ./rules.yaml }
tools: [tickets_summarize, tickets_lookup_ticket]
governance:
  allowedTools: [tickets_summarize, tickets_lookup_ticket]
  decisionAuthority: { autonomous: [tickets_summarize, tickets_lookup_ticket] }
mcp:
  servers:
    - name: tickets
      command: ${JSON.stringify(process.execPath)}
      args: [${JSON.stringify(FIXTURE)}]
      env: { MCP_FIXTURE_POISONED: "${options.poisoned ? "1" : "0"}" }
      tools:
        - { name: summarize, sideEffect: false }
        - { name: lookup_ticket, sideEffect: false }
`,
  );
  writeFileSync(join(dir, "prompt.md"), "You summarize.\n");
  writeFileSync(
    join(dir, "rules.yaml"),
    `apiVersion: keel/v1
kind: RulesTable
rules:
  - name: summarize
    when: { lastTool: none }
    call: { tool: tickets_summarize, arguments: { text: "{{input}}" } }
  - name: done
    when: { lastTool: tickets_summarize }
    answer: summarized
`,
  );
  const index = join(dir, "index.ts");
  writeFileSync(
    index,
    `export const agentPackages = [{ name: "ticket-desk", specFile: ${JSON.stringify(join(dir, "agent.yaml"))}, createTools: () => [] }];\n`,
  );
  return pathToFileURL(index).pathname;
}

describe("an agent's MCP tools over HTTP: their pins, and a person's approval", () => {
  let store: SqlStore;
  let server: RunningServer | null = null;
  const keys: Record<string, string> = {};

  const call = async (key: string, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server!.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };
  const serve = async (poisoned: boolean) => {
    await server?.close();
    server = await startServer({
      store,
      packages: await importAgentPackages(writeMcpAgent({ poisoned })),
      env: {},
      host: "127.0.0.1",
      port: 0,
      log: () => undefined,
    });
  };
  const runToEnd = async (input: string) => {
    const started = await call(keys.invoker!, "POST", "/v1/agents/ticket-desk/runs", { input });
    assert.equal(started.status, 202);
    const runId = started.json.id as string;
    for (let i = 0; i < 400; i++) {
      const run = await store.getRun(runId);
      if (run && !["queued", "running"].includes(run.status)) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return await store.readEvents({ runId });
  };

  before(async () => {
    store = await openStore({});
    const apiKeys = createSqlApiKeyStore(store.sql);
    for (const [label, roles] of [
      ["invoker", ["invoker"]],
      ["viewer", ["viewer"]],
      ["deployer", ["deployer"]],
    ] as const) {
      keys[label] = (
        await apiKeys.create({ tenant: "default", roles: [...roles], name: label, createdBy: "t" })
      ).token;
    }
    // Deployed first with a clean listing: approved at deploy.
    await serve(false);
  });
  after(async () => {
    await server?.close();
    await store.close();
  });

  test("lists the pins approved at deploy; a restart that finds a poisoned listing refuses it until a deployer approves its hash", async () => {
    const listed = await call(keys.viewer!, "GET", "/v1/agents/ticket-desk/mcp-tools");
    assert.equal(listed.status, 200);
    const tools = listed.json.tools as {
      tool: string;
      status: string;
      approvedBy: string;
      seenHash: string;
    }[];
    assert.deepEqual(
      tools.map((tool) => [tool.tool, tool.status, tool.approvedBy]),
      [
        ["lookup_ticket", "approved", "deploy:ticket-desk@1.0.0"],
        ["summarize", "approved", "deploy:ticket-desk@1.0.0"],
      ],
    );
    const ok = await runToEnd("First line. Second line.");
    assert.equal(ok.at(-1)?.type, "run-end");

    // The server now carries instructions in a tool's description: refused, journaled, nothing sent.
    await serve(true);
    const now = await call(keys.viewer!, "GET", "/v1/agents/ticket-desk/mcp-tools");
    const summarize = (
      now.json.tools as { tool: string; status: string; refusal: string; seenHash: string }[]
    ).find((tool) => tool.tool === "summarize")!;
    assert.equal(summarize.status, "refused");
    assert.match(summarize.refusal, /^its description reads as instructions to the model/);
    const refused = await runToEnd("Another text. With more.");
    const end = refused.find((event) => event.type === "tool-call-end");
    assert.ok(end?.type === "tool-call-end");
    assert.equal(end.payload.error?.code, "tool_refused");

    // Only a deployer approves, and only the listing named by its current hash.
    assert.equal(
      (
        await call(keys.invoker!, "POST", "/v1/agents/ticket-desk/mcp-tools/tickets/summarize/approval", {
          hash: summarize.seenHash,
        })
      ).status,
      403,
    );
    const stale = await call(
      keys.deployer!,
      "POST",
      "/v1/agents/ticket-desk/mcp-tools/tickets/summarize/approval",
      {
        hash: `sha256:${"0".repeat(64)}`,
      },
    );
    assert.equal(stale.status, 409);
    const bad = await call(
      keys.deployer!,
      "POST",
      "/v1/agents/ticket-desk/mcp-tools/tickets/summarize/approval",
      {
        hash: "latest",
      },
    );
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.json), /hash/);
    const unknown = await call(
      keys.deployer!,
      "POST",
      "/v1/agents/ticket-desk/mcp-tools/tickets/nope/approval",
      {
        hash: summarize.seenHash,
      },
    );
    assert.equal(unknown.status, 404);
    // Approved through the CLI, as a deployer would: its list says what to review and how to approve it.
    const keyFile = join(mkdtempSync(join(tmpdir(), "keel-mcp-key-")), "key");
    writeFileSync(keyFile, keys.deployer!);
    const cli = ["--url", server!.url, "--api-key-file", keyFile];
    const listing = captureIo();
    assert.equal(await main(["mcp", "tools", "ticket-desk", ...cli], listing), 0);
    const printed = listing.stdout.join("\n");
    assert.match(
      printed,
      /tickets\/summarize {2}refused\n {2}refused: its description reads as instructions/,
    );
    assert.ok(
      printed.includes(`keel mcp approve ticket-desk tickets/summarize --hash ${summarize.seenHash}`),
    );
    const noHash = captureIo();
    assert.equal(await main(["mcp", "approve", "ticket-desk", "tickets/summarize", ...cli], noHash), 2);
    assert.match(noHash.stderr.join("\n"), /--hash is required/);
    const approving = captureIo();
    const approvedCode = await main(
      ["mcp", "approve", "ticket-desk", "tickets/summarize", "--hash", summarize.seenHash, ...cli],
      approving,
    );
    assert.equal(approvedCode, 0, approving.stderr.join("\n"));
    assert.match(
      approving.stdout.join("\n"),
      /^tickets\/summarize of ticket-desk approved \(sha256:[0-9a-f]{64}\) by deployer$/,
    );
    const approved = await call(keys.viewer!, "GET", "/v1/agents/ticket-desk/mcp-tools");
    const pin = (approved.json.tools as { tool: string; status: string; approvedBy: string }[]).find(
      (tool) => tool.tool === "summarize",
    )!;
    assert.deepEqual([pin.status, pin.approvedBy], ["approved", "deployer"]);
    const after = await runToEnd("Third text. Fine.");
    const ended = after.find((event) => event.type === "tool-call-end");
    assert.ok(ended?.type === "tool-call-end");
    assert.equal(ended.payload.outcome, "ok");
  });
});
