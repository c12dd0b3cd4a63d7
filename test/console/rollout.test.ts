import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Browser } from "playwright-core";
import { createKeel, type Keel } from "../../src/server/index.ts";
import { openStore, type SqlStore } from "../../src/store/index.ts";
import { launchBrowser, noBrowser, openPage, seriousViolations } from "../support/browser.ts";
import { listenOnLoopback, writeVersionedAgent } from "../support/versioned-agent.ts";

describe("an agent's rollout in the console", { skip: noBrowser }, () => {
  let browser: Browser;
  let store: SqlStore;
  let keel: Keel;
  let server: Awaited<ReturnType<typeof listenOnLoopback>>;
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
      agents: [writeVersionedAgent({ rollout: "{ stickiness: run }" })],
      env: {},
      log: () => undefined,
      timers: false,
    });
    server = await listenOnLoopback(keel.fetch);
    url = server.url;
  });
  after(async () => {
    await browser?.close();
    await server?.close();
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
