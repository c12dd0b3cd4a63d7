import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import type { RunningServer } from "../../src/server/start-server.ts";
import type { SqlStore } from "../../src/store/sql-store.ts";
import { launchBrowser, noBrowser, openPage, screenshot, seriousViolations } from "../support/browser.ts";
import { postRunAndSettle } from "../support/post-run.ts";
import { appendSyntheticRun } from "../support/synthetic-journal.ts";
import { startDefaultServer } from "../support/tenant-agents.ts";

type Activity = {
  bucket: string;
  series: { started: number }[];
  totals: { started: number; completed: number; failed: number; successRate: number | null };
};

describe("the console's overview", { skip: noBrowser }, () => {
  let browser: Browser;
  let store: SqlStore;
  let server: RunningServer;
  let stopServer: (() => Promise<void>) | undefined;

  before(async () => {
    browser = await launchBrowser();
    ({ store, server, close: stopServer } = await startDefaultServer());
    // Two runs answered, one held for a person's approval, and runs of another agent, one of each failed.
    for (const input of ["hello", "hello again", "send a note to the team"])
      await postRunAndSettle({ url: server.url, store, agent: "default-helper", input });
    await appendSyntheticRun(store, { agent: "default-helper", status: "failed", turns: [] });
    await appendSyntheticRun(store, { agent: "billing", turns: [[{ tool: "charge", outcome: "ok" }]] });
    await appendSyntheticRun(store, { agent: "billing", status: "failed", turns: [] });
    // The projection folds the journal in the background: wait until it has every run.
    await until(async () => (await get<Activity>("/v1/telemetry/activity")).totals.started === 6);
  });
  after(async () => {
    await stopServer?.();
    await browser?.close();
  });

  async function get<T>(path: string): Promise<T> {
    const response = await fetch(`${server.url}${path}`);
    assert.equal(response.status, 200, `${path}: ${await response.clone().text()}`);
    return (await response.json()) as T;
  }

  /** The value a figure of the overview shows, by its label. */
  async function figure(page: Page, region: string, label: string): Promise<string> {
    const card = page.getByRole("region", { name: region }).locator(".stat", { hasText: label });
    return ((await card.locator(".value").textContent()) ?? "").trim();
  }

  /** The numbers of a chart's data table: one row per bucket, the sum of a column. */
  async function chartTable(
    page: Page,
    title: string,
    column: number,
  ): Promise<{ rows: number; sum: number }> {
    const rows = page.getByRole("table", { name: title }).locator("tbody tr");
    const cells = await rows.locator(`td:nth-of-type(${column})`).allTextContents();
    return { rows: await rows.count(), sum: cells.reduce((sum, cell) => sum + (Number(cell) || 0), 0) };
  }

  test("shows the API's numbers, a chart with its data table, and follows the range and agent chosen", async () => {
    const { page, problems, close } = await openPage(browser, `${server.url}/`);
    try {
      const hour = await get<Activity>("/v1/telemetry/activity?since=1h&bucket=minute");
      const approvals = await get<{ approvals: unknown[] }>("/v1/approvals?status=pending");
      assert.deepEqual([hour.totals.started, hour.totals.completed, hour.totals.failed], [6, 3, 2]);
      assert.equal(approvals.approvals.length, 1);

      const all = "Key figures, last hour, all agents";
      await page.getByRole("region", { name: all }).waitFor();
      assert.equal(await figure(page, all, "Runs started"), String(hour.totals.started));
      assert.equal(await figure(page, all, "Failed runs"), String(hour.totals.failed));
      assert.equal(
        await figure(page, all, "Success rate"),
        `${((hour.totals.successRate ?? 0) * 100).toFixed(1)}%`,
      );
      assert.equal(await figure(page, all, "Approvals pending"), String(approvals.approvals.length));
      const failedLink = page
        .getByRole("region", { name: all })
        .locator(".stat", { hasText: "Failed runs" })
        .getByRole("link");
      assert.match((await failedLink.getAttribute("href")) ?? "", /^#\/runs\?.*status=failed/);

      assert.ok((await page.locator(".chart canvas").count()) >= 2, "both charts draw on a canvas");
      assert.ok(await page.getByRole("img", { name: /6 runs started and 2 failed/ }).isVisible());
      const perMinute = await chartTable(page, "Runs per minute", 1);
      assert.deepEqual(perMinute, { rows: hour.series.length, sum: hour.totals.started });
      const spend = page.getByRole("table", { name: /Spend today/ });
      assert.ok(await spend.getByRole("row", { name: /default-helper/ }).isVisible());

      assert.deepEqual(await seriousViolations(page), []);
      await screenshot(page, "overview");

      await page.getByLabel("Time range", { exact: true }).selectOption("24h");
      const day = "Key figures, last 24 hours, all agents";
      await page.getByRole("region", { name: day }).waitFor();
      const hours = await get<Activity>("/v1/telemetry/activity?since=24h&bucket=hour");
      assert.deepEqual(await chartTable(page, "Runs per hour", 1), {
        rows: hours.series.length,
        sum: hours.totals.started,
      });
      assert.match(page.url(), /#\/\?range=24h/);

      await page.getByLabel("Agent", { exact: true }).selectOption("default-helper");
      const helper = "Key figures, last 24 hours, default-helper";
      await page.getByRole("region", { name: helper }).waitFor();
      const helperActivity = await get<Activity>(
        "/v1/telemetry/activity?since=24h&bucket=hour&agent=default-helper",
      );
      assert.deepEqual([helperActivity.totals.started, helperActivity.totals.failed], [4, 1]);
      assert.equal(await figure(page, helper, "Runs started"), String(helperActivity.totals.started));
      assert.equal(await figure(page, helper, "Failed runs"), String(helperActivity.totals.failed));
      assert.equal((await chartTable(page, "Runs per hour", 1)).sum, helperActivity.totals.started);
      assert.deepEqual(await seriousViolations(page), []);
      assert.deepEqual(problems(), []);
    } finally {
      await close();
    }
  });
});

/** Poll a condition every 50 ms for up to 15 s. */
async function until(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("timed out waiting for the telemetry projection");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
