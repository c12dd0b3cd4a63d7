import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Browser } from "playwright-core";
import type { RunningServer } from "../../src/server/start-server.ts";
import { launchBrowser, noBrowser, openPage, screenshot, seriousViolations } from "../support/browser.ts";
import { startDefaultServer } from "../support/tenant-agents.ts";

describe("the agents view", { skip: noBrowser }, () => {
  let browser: Browser;
  let server: RunningServer;
  let stopServer: (() => Promise<void>) | undefined;
  before(async () => {
    browser = await launchBrowser();
    ({ server, close: stopServer } = await startDefaultServer());
  });
  after(async () => {
    await browser?.close();
    await stopServer?.();
  });

  /** Start a run whose input makes the agent call send_note, and wait until it ends or waits for a person. */
  const runNote = async (): Promise<{ status: string; error: { code: string; message: string } | null }> => {
    const started = await fetch(`${server.url}/v1/agents/default-helper/runs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ input: "please send a note" }),
    });
    assert.equal(started.status, 202);
    const { id } = (await started.json()) as { id: string };
    for (let attempt = 0; attempt < 200; attempt++) {
      const run = (await (await fetch(`${server.url}/v1/runs/${id}`)).json()) as {
        status: string;
        error: { code: string; message: string } | null;
      };
      if (run.status !== "queued" && run.status !== "running") return run;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`run ${id} never settled`);
  };
  const killSwitches = async () =>
    ((await (await fetch(`${server.url}/v1/kill-switches`)).json()) as { killSwitches: { reason: string }[] })
      .killSwitches;

  test("the kill switch, thrown through the console's dialog with a reason, stops the agent's runs until resumed there", async () => {
    const { page, problems, close } = await openPage(browser, `${server.url}/#/agents/default-helper`);
    try {
      await page.getByRole("heading", { name: "Kill switch: off" }).waitFor();
      await page.getByRole("button", { name: "Stop this agent" }).click();
      const dialog = page.getByRole("dialog", { name: "Stop default-helper?" });
      await dialog.waitFor();
      // The modal dialog has the focus, and its confirm button waits for a reason.
      assert.equal(await page.evaluate('document.activeElement?.closest("dialog")?.open'), true);
      assert.ok(await dialog.getByRole("button", { name: "Stop the agent" }).isDisabled());
      assert.deepEqual(await seriousViolations(page), []);
      await dialog.getByLabel("Reason").fill("sending notes in a loop");
      await dialog.getByRole("button", { name: "Stop the agent" }).click();

      const thrown = page.getByRole("region", { name: "Stopped: this agent's kill switch is thrown" });
      await thrown.waitFor();
      assert.match((await thrown.textContent()) ?? "", /sending notes in a loop/);
      assert.match((await thrown.textContent()) ?? "", /Thrown by local-developer/);
      assert.equal(await dialog.count(), 0);
      assert.deepEqual(
        (await killSwitches()).map((kill) => kill.reason),
        ["sending notes in a loop"],
      );

      // The governor refuses the stopped agent's first action (its model call), naming the switch and its reason.
      const stopped = await runNote();
      assert.equal(stopped.status, "failed", JSON.stringify(stopped));
      assert.match(
        stopped.error?.message ?? "",
        /kill switch for agent default-helper .*: sending notes in a loop/,
      );

      await thrown.getByRole("button", { name: "Resume this agent" }).click();
      await page.getByRole("heading", { name: "Kill switch: off" }).waitFor();
      assert.deepEqual(await killSwitches(), []);
      assert.equal((await runNote()).status, "suspended");
      assert.deepEqual(problems(), []);
    } finally {
      await close();
    }
  });

  test("the agents list and an agent's page have no serious accessibility violations", async () => {
    const { page, problems, close } = await openPage(browser, `${server.url}/#/agents`);
    try {
      const row = page.getByRole("row", { name: /default-helper/ });
      await row.waitFor();
      assert.match((await row.textContent()) ?? "", /default-team/);
      assert.match((await row.textContent()) ?? "", /draft/);
      assert.deepEqual(await seriousViolations(page), []);
      await screenshot(page, "agents");

      await row.getByRole("link", { name: "default-helper" }).click();
      await page.getByRole("heading", { name: "Versions" }).waitFor();
      await page.getByRole("region", { name: "Registry card" }).waitFor();
      await page.getByRole("heading", { name: "Kill switch: off" }).waitFor();
      assert.deepEqual(await seriousViolations(page), []);
      assert.deepEqual(problems(), []);
    } finally {
      await close();
    }
  });
});
