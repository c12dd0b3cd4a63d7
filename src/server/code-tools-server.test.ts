import assert from "node:assert/strict";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { postRunAndSettle } from "../../test/support/post-run.ts";
import { importAgentPackages } from "../cli/agent-packages.ts";
import { createSqlApiKeyStore } from "../governance/sql-api-key-store.ts";
import { openStore } from "../store/open-store.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { type RunningServer, startServer } from "./start-server.ts";

const skip =
  !existsSync("/usr/bin/bwrap") && process.env.CI !== "true" ? "bubblewrap is not installed" : false;

/** An offline agent package whose only tool is a Python code tool, called with the run's input as the program. */
function writeCodeAgent(): string {
  const dir = mkdtempSync(join(tmpdir(), "keel-code-agent-"));
  writeFileSync(
    join(dir, "agent.yaml"),
    `apiVersion: keel/v1
kind: Agent
name: calculator
version: 1.0.0
description: Works sums out by running Python.
owner: { team: desk }
riskTier: 3
prompt: ./prompt.md
model: { provider: rules, id: offline, offline: ./rules.yaml }
tools: [run_python]
governance:
  allowedTools: [run_python]
  decisionAuthority: { autonomous: [run_python] }
code:
  tools:
    - name: run_python
      description: Run a Python program; print the answer.
      language: python
      timeout: 10s
`,
  );
  writeFileSync(join(dir, "prompt.md"), "You work sums out.\n");
  writeFileSync(
    join(dir, "rules.yaml"),
    `apiVersion: keel/v1
kind: RulesTable
rules:
  - name: compute
    when: { lastTool: none }
    call: { tool: run_python, arguments: { code: "{{input}}" } }
  - name: done
    when: { lastTool: run_python }
    answer: computed
`,
  );
  const index = join(dir, "index.ts");
  writeFileSync(
    index,
    `export const agentPackages = [{ name: "calculator", specFile: ${JSON.stringify(join(dir, "agent.yaml"))}, createTools: () => [] }];\n`,
  );
  return pathToFileURL(index).pathname;
}

describe("an agent's code tools, loaded by the server from its spec", { skip }, () => {
  let store: SqlStore;
  let server: RunningServer;
  let key: string;

  before(async () => {
    store = await openStore({});
    key = (
      await createSqlApiKeyStore(store.sql).create({
        tenant: "default",
        roles: ["invoker"],
        name: "invoker",
        createdBy: "t",
      })
    ).token;
    server = await startServer({
      store,
      packages: await importAgentPackages(writeCodeAgent()),
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

  test("a run calls the code tool, whose program runs in the sandbox, and journals its result", async () => {
    const runId = await postRunAndSettle({
      url: server.url,
      store,
      key,
      agent: "calculator",
      input: "print(6 * 7)",
    });
    assert.equal((await store.getRun(runId))?.status, "completed");
    const end = (await store.readEvents({ runId })).find((event) => event.type === "tool-call-end");
    assert.ok(end?.type === "tool-call-end");
    assert.equal(end.payload.outcome, "ok");
    assert.deepEqual(end.payload.result, {
      exitCode: 0,
      stdout: "42\n",
      stderr: "",
      timedOut: false,
      limit: null,
      isolation: "bubblewrap",
    });
  });
});
