import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type ServerType, serve } from "@hono/node-server";
import type { Browser } from "playwright-core";
import { defineAgent } from "../../src/runtime/index.ts";
import { createKeel, type Keel } from "../../src/server/index.ts";
import { openStore, type SqlStore } from "../../src/store/index.ts";
import { launchBrowser, noBrowser, openPage, seriousViolations } from "../support/browser.ts";

/** An offline agent with its current version 1.0.0 and a candidate 1.1.0 served beside it. */
function versionedAgent() {
  const dir = mkdtempSync(join(tmpdir(), "keel-console-rollout-"));
  const spec = (version: string) => `apiVersion: keel/v1
kind: Agent
name: helper
version: ${version}
description: Answers.
owner: { team: ops }
riskTier: 3
prompt: ./prompt.md
model: { provider: rules, id: offline, offline: ./rules.yaml }
governance: { allowedTools: [] }
rollout: { stickiness: run }
`;
  writeFileSync(join(dir, "prompt.md"), "You answer.\n");
  writeFileSync(
    join(dir, "rules.yaml"),
    "apiVersion: keel/v1\nkind: RulesTable\nrules:\n  - { name: a, answer: hi }\n",
  );
  writeFileSync(join(dir, "agent.yaml"), spec("1.0.0"));
  writeFileSync(join(dir, "1.1.0.yaml"), spec("1.1.0"));
  return defineAgent({ spec: join(dir, "agent.yaml"), versions: [join(dir, "1.1.0.yaml")], tools: [] });
}

describe("an agent's rollout in the console", { skip: noBrowser }, () => {
  let browser: Browser;
  let store: SqlStore;
  let keel: Keel;
  let server: ServerType;
  let url: string;
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    assert.ok(response.ok, `${path}: ${response.status} ${await response.text()}`);
  };

  before(async () => {
    browser = await launchBrowser();
    store = await openStore({});
    keel = await createKeel({
      store,
      agents: [versionedAgent()],
      env: {},
      log: () => undefined,
      timers: false,
    });
    server = await new Promise<ServerType>((resolve) => {
      const created = serve({ fetch: keel.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(created));
    });
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  });
  after(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await keel?.close();
    await store?.close();
  });

  test("shows the versions served, a running A/B test with its comparison, and a rollback in its history", async () => {
    const { page, problems, close } = await openPage(browser, `${url}/#/agents/helper`);
    try {
      const panel = page.getByRole("region", { name: "Rollout" });
      await panel.getByText("No rollout yet").waitFor();
      assert.match(
        (await panel.textContent()) ?? "",
        /Versions loaded1\.1\.0, 1\.0\.0|Versions loaded1\.0\.0, 1\.1\.0/,
      );

      await post("/v1/agents/helper/rollout", { to: "1.1.0", strategy: "ab" });
      for (let index = 0; index < 4; index++)
        await post("/v1/agents/helper/runs", { input: `hello ${index}` });
      await page.reload();
      await panel.getByText("ab from 1.0.0 to 1.1.0").waitFor();
      assert.match((await panel.textContent()) ?? "", /50% of new runs/);
      const comparison = panel.getByRole("table", { name: /A\/B comparison at 95% confidence/ });
      await comparison.waitFor();
      assert.equal(await comparison.getByRole("row").count(), 7, "a header and six metrics");
      assert.deepEqual(await seriousViolations(page), []);

      await post("/v1/agents/helper/rollout/rollback", { reason: "answers too short" });
      await page.reload();
      const history = panel.getByRole("table", { name: "Rollout history" });
      await history.getByRole("row", { name: /rolled back .*answers too short/ }).waitFor();
      assert.match((await panel.textContent()) ?? "", /rolled back/);
      assert.equal(await history.getByRole("row", { name: /started/ }).count(), 1);
      assert.deepEqual(await seriousViolations(page), []);
      assert.deepEqual(problems(), []);
    } finally {
      await close();
    }
  });
});
