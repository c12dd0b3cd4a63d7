import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Browser } from "playwright-core";
import { launchBrowser, noBrowser, openPage, seriousViolations } from "../support/browser.ts";
import { startDefaultServer, startTenantServer } from "../support/tenant-agents.ts";

describe("the console's page and sign-in", { skip: noBrowser }, () => {
  let browser: Browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test("in development mode GET / shows the console with Runs and Approvals in its navigation, no key asked", async () => {
    const { server, close: stop } = await startDefaultServer();
    try {
      const response = await fetch(`${server.url}/`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type") ?? "", /^text\/html/);
      assert.match(response.headers.get("content-security-policy") ?? "", /script-src 'self'/);
      const { page, problems, close } = await openPage(browser, `${server.url}/`);
      try {
        const nav = page.getByRole("navigation", { name: "Main" });
        await nav.getByRole("link", { name: "Runs" }).waitFor();
        assert.ok(await nav.getByRole("link", { name: "Approvals" }).isVisible());
        assert.ok(await page.getByText("development mode").isVisible());
        assert.deepEqual(await seriousViolations(page), []);
        assert.deepEqual(problems(), []);
      } finally {
        await close();
      }
    } finally {
      await stop();
    }
  });

  test("with API keys it asks for one, refuses a wrong one by saying so, and shows the key's tenant once signed in", async () => {
    const { store, server, keys } = await startTenantServer();
    try {
      const { page, problems, close } = await openPage(browser, `${server.url}/`);
      try {
        const field = page.getByLabel("API key");
        await field.fill("keel_not-a-key");
        await page.getByRole("button", { name: "Sign in" }).click();
        await page.getByRole("alert").waitFor();
        assert.ok(await page.getByLabel("API key").isVisible());
        assert.deepEqual(await seriousViolations(page), []);

        await page.getByLabel("API key").fill(keys["acme-viewer"]);
        await page.getByRole("button", { name: "Sign in" }).click();
        await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Runs" }).waitFor();
        assert.match((await page.locator(".who").textContent()) ?? "", /tenant acme · viewer/);
        await page.getByRole("button", { name: "Sign out" }).click();
        await page.getByLabel("API key").waitFor();
        assert.deepEqual(
          problems().filter((problem) => !problem.includes("401")),
          [],
        );
      } finally {
        await close();
      }
    } finally {
      await server.close();
      await store.close();
    }
  });

  test("a navigation made the moment the console first shows is followed, not lost before the page listens", async () => {
    const { server, close: stop } = await startDefaultServer();
    const context = await browser.newContext({ viewport: { width: 1360, height: 860 }, locale: "en-US" });
    try {
      // As the navigation appears (a microtask after the render that drew it, before the page's effects run),
      // go elsewhere, as a person clicking at once or a script does.
      await context.addInitScript({
        content: `
          const watch = new MutationObserver(() => {
            if (!document.querySelector("nav")) return;
            watch.disconnect();
            location.hash = "#/runs";
          });
          watch.observe(document, { childList: true, subtree: true });`,
      });
      const page = await context.newPage();
      await page.goto(`${server.url}/#/approvals`);
      await page.getByRole("heading", { name: "Runs", exact: true }).waitFor({ timeout: 10_000 });
      assert.equal(await page.getByRole("heading", { name: "Approvals" }).count(), 0);
    } finally {
      await context.close();
      await stop();
    }
  });
});
