import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { agentPackages } from "../../examples/index.ts";
import { type RunningServer, startServer } from "../../src/server/start-server.ts";
import { openStore } from "../../src/store/open-store.ts";
import type { SqlStore } from "../../src/store/sql-store.ts";
import { launchBrowser, noBrowser, openPage, screenshot, seriousViolations } from "../support/browser.ts";
import { startDefaultServer, startTenantServer } from "../support/tenant-agents.ts";

/** Start a run of the agent whose input makes it call send_note, and wait until the run waits for a person. */
async function holdNote(url: string, agent: string, text: string, key?: string): Promise<{ runId: string }> {
  const headers = { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) };
  const started = await fetch(`${url}/v1/agents/${agent}/runs`, {
    method: "POST",
    headers,
    body: JSON.stringify({ input: `please send a note: ${text}` }),
  });
  assert.equal(started.status, 202, await started.clone().text());
  const { id: runId } = (await started.json()) as { id: string };
  for (let attempt = 0; attempt < 200; attempt++) {
    if ((await runStatus(url, runId, key)) === "suspended") return { runId };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`run ${runId} was never held for approval`);
}

async function runStatus(url: string, runId: string, key?: string): Promise<string> {
  const response = await fetch(`${url}/v1/runs/${runId}`, {
    headers: key ? { authorization: `Bearer ${key}` } : {},
  });
  return ((await response.json()) as { status: string }).status;
}

async function signIn(page: Page, key: string): Promise<void> {
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Main" }).waitFor();
}

/** What has the keyboard focus: its id, classes and text. */
type Focused = { id: string; classes: string; text: string };
const FOCUSED = `({ id: document.activeElement?.id ?? "", classes: document.activeElement?.className ?? "",
  text: document.activeElement?.textContent ?? "" })`;

/** Press Tab until the focused element satisfies `matches` (at most 40 times), as a keyboard user moves on. */
async function tabUntil(page: Page, matches: (focused: Focused) => boolean, what: string): Promise<void> {
  for (let press = 0; press < 40; press++) {
    await page.keyboard.press("Tab");
    if (matches((await page.evaluate(FOCUSED)) as Focused)) return;
  }
  throw new Error(`Tab never reached ${what}`);
}

/**
 * Wait until the element with `id` has the focus. Polled through `page.evaluate` (the debugging protocol), as the
 * page's content security policy forbids the string evaluation `waitForFunction` uses.
 */
async function focusReaches(page: Page, id: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (((await page.evaluate(FOCUSED)) as Focused).id === id) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the focus never reached #${id}`);
}

describe("the approvals inbox", { skip: noBrowser }, () => {
  let browser: Browser;
  let store: SqlStore;
  let server: RunningServer;
  let tenant: Awaited<ReturnType<typeof startTenantServer>>;
  before(async () => {
    browser = await launchBrowser();
    ({ store, server } = await startDefaultServer());
    tenant = await startTenantServer();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await store?.close();
    await tenant?.server.close();
    await tenant?.store.close();
  });

  test("the README tour's held refund appears in the inbox, a support lead approves it, and the run completes", async () => {
    const tourStore = await openStore({});
    const tour = await startServer({
      store: tourStore,
      packages: agentPackages,
      env: {},
      host: "127.0.0.1",
      port: 0,
      log: () => undefined,
    });
    try {
      // As the README's tour: a refund of 281.00 waits for someone of support-leads.
      const started = await fetch(`${tour.url}/v1/agents/support-triage/runs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ input: "I want a refund for order 1017" }),
      });
      assert.equal(started.status, 202);
      const { id: runId } = (await started.json()) as { id: string };
      const { page, problems, close } = await openPage(browser, `${tour.url}/#/approvals`);
      try {
        const queue = page.getByRole("navigation", { name: "Approval queue" });
        await queue.getByRole("link", { name: /issue_refund/ }).click();
        const detail = page.getByRole("article");
        assert.match(
          (await detail.getByRole("region", { name: "Arguments of issue_refund" }).textContent()) ?? "",
          /281/,
        );
        assert.equal(await runStatus(tour.url, runId), "suspended");
        await page.getByLabel("Name").fill("lee@example.com");
        await page.getByLabel("Roles").fill("approver:support-leads");
        await page.getByLabel("Comment").fill("order checked");
        await page.getByRole("button", { name: "Approve", exact: true }).click();
        const outcome = page.getByRole("region", { name: "Request approved" });
        await outcome.getByRole("status").filter({ hasText: "completed" }).waitFor();
        const run = (await (await fetch(`${tour.url}/v1/runs/${runId}`)).json()) as {
          status: string;
          answer: string;
        };
        assert.equal(run.status, "completed");
        assert.match(run.answer, /refund/i);
        assert.deepEqual(problems(), []);
      } finally {
        await close();
      }
    } finally {
      await tour.close();
      await tourStore.close();
    }
  });

  test("a held send_note appears in the inbox, is approved in the console as a named approver, and the run completes live", async () => {
    const { runId } = await holdNote(server.url, "default-helper", "quarterly figures");
    const { page, problems, close } = await openPage(browser, `${server.url}/#/approvals`);
    try {
      const queue = page.getByRole("navigation", { name: "Approval queue" });
      await queue.getByRole("link", { name: /quarterly figures/ }).click();
      const detail = page.getByRole("article");
      await detail.getByRole("heading", { level: 2 }).waitFor();
      assert.match(
        (await detail.getByRole("region", { name: "Arguments of send_note" }).textContent()) ?? "",
        /quarterly figures/,
      );
      // Development mode: the console asks who decides, with the roles the request needs filled in.
      assert.match(await page.getByLabel("Roles").inputValue(), /approver:default-helper/);
      // The one who asked for the call may not decide it: the API's refusal is shown as it says it.
      await page.getByLabel("Name").fill("local-developer");
      await page.getByRole("button", { name: "Approve", exact: true }).click();
      const refusal = page.getByRole("alert").filter({ hasText: "Not allowed to decide this request" });
      await refusal.waitFor();
      assert.match((await refusal.textContent()) ?? "", /separation of duties/);
      await page.getByLabel("Name").fill("lee@example.com");
      await page.getByLabel("Comment").fill("fine to send");
      await page.getByRole("button", { name: "Approve", exact: true }).click();

      const outcome = page.getByRole("region", { name: "Request approved" });
      await outcome.getByRole("status").filter({ hasText: "completed" }).waitFor();
      assert.equal(await runStatus(server.url, runId), "completed");
      assert.equal(
        await outcome.getByRole("link", { name: "Open the run's timeline" }).getAttribute("href"),
        `#/runs/${runId}`,
      );
      // The request, read again, lists the decision with its comment.
      await detail
        .getByRole("listitem")
        .filter({ hasText: "approved by lee@example.com" })
        .filter({ hasText: "fine to send" })
        .waitFor();
      assert.deepEqual(problems(), []);
    } finally {
      await close();
    }
  });

  test("an edit shows the changed fields, passes axe with the request selected, and the edited call is what runs", async () => {
    const { runId } = await holdNote(server.url, "default-helper", "board minutes");
    const { page, problems, close } = await openPage(browser, `${server.url}/#/approvals`);
    try {
      await page.getByRole("link", { name: /board minutes/ }).click();
      await page.getByRole("button", { name: "Edit" }).click();
      const editor = page.getByLabel("Arguments of send_note (JSON)");
      const edited = JSON.parse(await editor.inputValue()) as { text: string };
      await editor.fill(JSON.stringify({ text: `${edited.text} (final)` }, null, 2));
      const changes = page.getByRole("table", { name: "What your edit changes" });
      await changes.getByRole("cell", { name: "text", exact: true }).waitFor();
      assert.match((await changes.textContent()) ?? "", /\(final\)/);
      assert.deepEqual(await seriousViolations(page), []);
      await page.evaluate("scrollTo(0, 0)");
      await screenshot(page, "approvals");

      await page.getByLabel("Name").fill("kim@example.com");
      await page.getByRole("button", { name: "Approve with edits" }).click();
      await page.getByRole("status").filter({ hasText: "completed" }).waitFor();
      const journal = (await (await fetch(`${server.url}/v1/runs/${runId}/journal`)).json()) as {
        events: { type: string; payload: { arguments?: { text: string }; revision?: { by: string } } }[];
      };
      const proposed = journal.events.filter((event) => event.type === "tool-call-propose").at(-1);
      assert.equal(proposed?.payload.revision?.by, "kim@example.com");
      assert.equal(proposed?.payload.arguments?.text, `${edited.text} (final)`);
      assert.deepEqual(problems(), []);
    } finally {
      await close();
    }
  });

  test("an approver opens and approves a request with the keyboard alone", async () => {
    const { server, keys } = tenant;
    const { runId } = await holdNote(server.url, "acme-helper", "keyboard only", keys["acme-invoker"]);
    const { page, problems, close } = await openPage(browser, `${server.url}/#/approvals`);
    try {
      await signIn(page, keys["acme-approver"]);
      await page.getByRole("link", { name: /keyboard only/ }).waitFor();
      await tabUntil(
        page,
        (focused) => focused.classes.includes("queue-item") && focused.text.includes("keyboard only"),
        "the request in the queue",
      );
      await page.keyboard.press("Enter");
      // Opening a request moves focus to it.
      await focusReaches(page, "request-title");
      await tabUntil(page, (focused) => focused.id === "decision-comment", "the comment");
      await page.keyboard.type("approved from the keyboard");
      await tabUntil(page, (focused) => focused.text === "Approve", "the Approve button");
      await page.keyboard.press("Enter");
      // The outcome takes focus, and the run is followed until it ends.
      await focusReaches(page, "decision-outcome");
      await page.getByRole("status").filter({ hasText: "completed" }).waitFor();
      assert.equal(await runStatus(server.url, runId, keys["acme-invoker"]), "completed");
      assert.deepEqual(problems(), []);
    } finally {
      await close();
    }
  });

  test("a viewer sees the queue and the held call but no decision controls", async () => {
    const { server, keys } = tenant;
    await holdNote(server.url, "acme-helper", "for viewers", keys["acme-invoker"]);
    const { page, problems, close } = await openPage(browser, `${server.url}/#/approvals`);
    try {
      await signIn(page, keys["acme-viewer"]);
      await page.getByRole("link", { name: /for viewers/ }).click();
      await page.getByRole("region", { name: "Arguments of send_note" }).waitFor();
      await page.getByText("may read the queue but not decide").waitFor();
      for (const name of ["Approve", "Reject", "Edit", "Approve with edits"]) {
        assert.equal(await page.getByRole("button", { name, exact: true }).count(), 0, name);
      }
      assert.equal(await page.getByLabel("Comment").count(), 0);
      assert.deepEqual(problems(), []);
    } finally {
      await close();
    }
  });
});
