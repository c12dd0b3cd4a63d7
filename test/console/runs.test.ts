import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { agentPackages } from "../../examples/index.ts";
import { parseEvalsSection } from "../../src/evals/index.ts";
import { isSampled } from "../../src/evals/production-sampler.ts";
import { type RunningServer, startServer } from "../../src/server/start-server.ts";
import { loadAgentSpec } from "../../src/spec/index.ts";
import { openStore } from "../../src/store/open-store.ts";
import type { SqlStore } from "../../src/store/sql-store.ts";
import { runStart } from "../../src/store/store-contract-fixtures.ts";
import { approvalRequest } from "../support/approval-decision.ts";
import { launchBrowser, noBrowser, openPage, screenshot, seriousViolations } from "../support/browser.ts";
import { startTenantServer } from "../support/tenant-agents.ts";

/** Ask until `check` answers something, as a person would look again; fails naming what never happened. */
async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function getJson<T>(url: string, key?: string): Promise<T> {
  const response = await fetch(url, key ? { headers: { authorization: `Bearer ${key}` } } : {});
  assert.equal(response.ok, true, `${url} answered ${response.status}`);
  return (await response.json()) as T;
}

/** The run's timeline as the page shows it: each event's title, in order. */
async function timelineTitles(page: Page): Promise<string[]> {
  return await page.getByRole("list", { name: "Timeline" }).locator(".event-title").allTextContents();
}

describe("the console's runs list and run view", { skip: noBrowser }, () => {
  let browser: Browser;
  let store: SqlStore;
  let server: RunningServer;
  let tourRunId = "";

  before(async () => {
    browser = await launchBrowser();
    store = await openStore({});
    server = await startServer({
      store,
      packages: agentPackages,
      env: {},
      host: "127.0.0.1",
      port: 0,
      log: () => undefined,
    });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await store?.close();
  });

  test("the README tour: a run started from the form fills its timeline in live, through a held refund, until it completes", async () => {
    const { page, problems, close } = await openPage(browser, `${server.url}/#/runs`);
    try {
      const form = page.getByRole("region", { name: "Start a run" });
      await form.getByLabel("Agent").selectOption("support-triage");
      await form.getByLabel("Input").fill("I want a refund for order 1017");
      await form.getByRole("button", { name: "Start run" }).click();

      await page.getByRole("heading", { name: /^Run run_/ }).waitFor();
      tourRunId = /#\/runs\/(run_[^?]+)/.exec(page.url())?.[1] ?? "";
      assert.notEqual(tourRunId, "");
      const timeline = page.getByRole("list", { name: "Timeline" });
      // The refund of 281.00 is held: the governor's decision and its reason, then the request to a person.
      await timeline.getByText("Approval requested").waitFor();
      assert.ok(await timeline.getByText("refunds above 100 need a support lead").first().isVisible());
      const held = await timelineTitles(page);
      assert.deepEqual(held.slice(0, 1), ["Run started"]);
      assert.ok(held.includes("Governor decision"), held.join(", "));
      await page.getByText("Waiting for a person").waitFor();
      const approvalId =
        (await page.locator(".pending-approval a").getAttribute("href"))?.split("/").at(-1) ?? "";
      assert.match(approvalId, /^apr_/);

      // The page stays open while a support lead approves: what follows arrives over the event stream.
      await page.evaluate(() => {
        (globalThis as unknown as { stillTheSamePage: boolean }).stillTheSamePage = true;
      });
      const approval = await getJson<{ argumentsHash: string }>(`${server.url}/v1/approvals/${approvalId}`);
      const decided = await fetch(
        `${server.url}/v1/approvals/${approvalId}/decision`,
        approvalRequest({ argumentsHash: approval.argumentsHash, role: "approver:support-leads" }),
      );
      assert.equal(decided.status, 200, await decided.text());

      await timeline.getByText("Run ended").waitFor();
      const done = await timelineTitles(page);
      assert.ok(done.length > held.length, "the timeline grew after the decision");
      for (const title of ["Approval decided", "Tool call ended", "Run ended"]) {
        assert.ok(done.includes(title), `${title} in ${done.join(", ")}`);
      }
      await page
        .locator(".run-answer")
        .getByText(/issued refund #\d+ of 281\.00 USD for order 1017/)
        .waitFor();
      assert.ok(await page.locator(".page-header").getByText("completed").isVisible());
      assert.equal(
        await page.evaluate(() => (globalThis as unknown as { stillTheSamePage?: boolean }).stillTheSamePage),
        true,
      );
      // The waterfall has the run's spans, with the model calls' tokens.
      await page.getByRole("table", { name: "Spans of the run, placed on its time line" }).waitFor();
      assert.ok((await page.locator(".waterfall tbody tr").count()) > 3);
      assert.deepEqual(problems(), []);
    } finally {
      await close();
    }
  });

  test("the list filters by decision in its link, and both views pass axe with an audit proof shown or explained", async () => {
    assert.notEqual(tourRunId, "", "the tour's run");
    // Telemetry is projected from the journal a moment after the run ends.
    await eventually("the tour's run in the trace search", async () => {
      const { runs } = await getJson<{ runs: { runId: string }[] }>(
        `${server.url}/v1/traces?policy=approved`,
      );
      return runs.some((run) => run.runId === tourRunId) ? true : undefined;
    });
    const direct = await fetch(`${server.url}/v1/agents/support-triage/runs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ input: "Where is my order 1042?" }),
    });
    const other = ((await direct.json()) as { id: string }).id;
    await eventually("the second run in the trace search", async () => {
      const { runs } = await getJson<{ runs: { runId: string }[] }>(`${server.url}/v1/traces`);
      return runs.some((run) => run.runId === other) ? true : undefined;
    });

    // support-triage grades a share of its finished runs (evals.productionSampling), picked by a hash of the run id:
    // when the tour's run is one, its grade is recorded by the server's sampler a few seconds after it ends, and the
    // run view shows it instead of saying there is none.
    const spec = agentPackages.find((agentPackage) => agentPackage.name === "support-triage")!.specFile;
    const { productionSampling } = parseEvalsSection((await loadAgentSpec(spec)).spec.evals);
    const sampled = isSampled(tourRunId, productionSampling);
    if (sampled) {
      await eventually("the production sample's grade of the tour's run", async () => {
        const { events } = await getJson<{ events: unknown[] }>(`${server.url}/v1/runs/${tourRunId}/scores`);
        return events.length > 0 ? true : undefined;
      });
    }

    const { page, problems, close } = await openPage(browser, `${server.url}/#/runs?policy=approved`);
    try {
      const table = page.getByRole("table", { name: "Runs, newest first" });
      await table.getByRole("link", { name: tourRunId }).waitFor();
      assert.equal(await table.getByRole("link", { name: other }).count(), 0, "a run with nothing approved");
      assert.match(
        (await table.locator("tbody tr").first().textContent()) ?? "",
        /issue_refund: review → approved/,
      );
      assert.match((await table.locator("tbody tr").first().textContent()) ?? "", /refund for order 1017/);
      assert.equal(await page.getByLabel("Decision", { exact: true }).inputValue(), "approved");

      await page.getByRole("link", { name: "Clear filters" }).click();
      await table.getByRole("link", { name: other }).waitFor();
      await page.getByLabel("Tool called").fill("get_order");
      await page.getByRole("button", { name: "Apply filters" }).click();
      await page.waitForURL(/tool=get_order/);
      await table.getByRole("link", { name: other }).waitFor();
      assert.deepEqual(await seriousViolations(page), []);
      await screenshot(page, "runs");

      await table.getByRole("link", { name: tourRunId }).click();
      const timeline = page.getByRole("list", { name: "Timeline" });
      await timeline.getByText("Run ended").waitFor();
      await page.getByRole("table", { name: "Spans of the run, placed on its time line" }).waitFor();
      if (sampled) {
        await page
          .getByRole("table", { name: "Scores and feedback of the run" })
          .getByText("production-sample")
          .waitFor();
      } else {
        await page.getByText("No scores or feedback for this run yet.").waitFor();
      }
      await screenshot(page, "run");
      await page.getByRole("button", { name: "Audit proof of event 1", exact: true }).click();
      await page
        .getByRole("region", { name: "Audit inclusion proof of event 1", exact: true })
        .or(page.getByText("No checkpoint covers this event yet"))
        .waitFor();
      assert.deepEqual(await seriousViolations(page), []);
      assert.deepEqual(
        problems().filter((problem) => !problem.includes("409")),
        [],
      );
    } finally {
      await close();
    }
  });

  test("an operator cancels an active run only after confirming, and its timeline ends cancelled", async () => {
    const started = await fetch(`${server.url}/v1/agents/support-triage/runs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      // A refund of 181.50 waits for a support lead (the tour's order 1017 is refunded by now).
      body: JSON.stringify({ input: "I'd like a refund for order 1036 please" }),
    });
    const runId = ((await started.json()) as { id: string }).id;
    const { page, problems, close } = await openPage(browser, `${server.url}/#/runs/${runId}`);
    try {
      await page.getByText("Waiting for a person").waitFor();
      await page.getByRole("button", { name: "Cancel run" }).click();
      await page.getByRole("button", { name: "Keep it running" }).click();
      assert.equal((await getJson<{ status: string }>(`${server.url}/v1/runs/${runId}`)).status, "suspended");
      await page.getByRole("button", { name: "Cancel run" }).click();
      await page.getByRole("button", { name: "Yes, cancel it" }).click();
      const timeline = page.getByRole("list", { name: "Timeline" });
      await timeline.getByText("Cancel requested").waitFor();
      await timeline.getByText("Run ended").waitFor();
      await page.locator(".page-header").getByText("cancelled").waitFor();
      assert.equal(await page.getByRole("button", { name: "Cancel run" }).count(), 0);
      assert.deepEqual(problems(), []);
    } finally {
      await close();
    }
  });

  test("one tenant's key never sees another's runs: the list shows its own, and another's run reads as not found", async () => {
    const tenants = await startTenantServer();
    try {
      const start = async (agent: string, key: string, input: string) => {
        const response = await fetch(`${tenants.server.url}/v1/agents/${agent}/runs`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
          body: JSON.stringify({ input }),
        });
        assert.equal(response.status, 202);
        return ((await response.json()) as { id: string }).id;
      };
      const acme = await start("acme-helper", tenants.keys["acme-invoker"], "hello from acme");
      const globex = await start("globex-helper", tenants.keys["globex-invoker"], "hello from globex");
      await eventually("acme's run in its trace search", async () => {
        const { runs } = await getJson<{ runs: { runId: string }[] }>(
          `${tenants.server.url}/v1/traces`,
          tenants.keys["acme-viewer"],
        );
        return runs.some((run) => run.runId === acme) ? true : undefined;
      });

      const { page, problems, close } = await openPage(browser, `${tenants.server.url}/#/runs`);
      try {
        await page.getByLabel("API key").fill(tenants.keys["acme-viewer"]);
        await page.getByRole("button", { name: "Sign in" }).click();
        const table = page.getByRole("table", { name: "Runs, newest first" });
        await table.getByRole("link", { name: acme }).waitFor();
        const listed = (await table.textContent()) ?? "";
        assert.doesNotMatch(listed, new RegExp(globex));
        assert.doesNotMatch(listed, /globex/);
        // A viewer may not start runs: the form is not offered.
        assert.equal(await page.getByRole("region", { name: "Start a run" }).count(), 0);

        await page.goto(`${tenants.server.url}/#/runs/${globex}`);
        await page.getByRole("heading", { name: "Run not found" }).waitFor();
        assert.match((await page.getByRole("alert").textContent()) ?? "", /no run .* in tenant acme/);
        assert.doesNotMatch((await page.locator("main").textContent()) ?? "", /hello from globex/);

        // More runs than a page, the page ending among twenty that share one instant, as one transaction writes them.
        const archived: string[] = [];
        for (let index = 0; index < 60; index += 1) {
          const runId = `run_archived_${String(index).padStart(2, "0")}`;
          await tenants.store.createRun({
            runId,
            start: {
              ...runStart("acme-archive", `archived ${index}`),
              principal: { subject: "user:ada", tenant: "acme", roles: [] },
            },
          });
          archived.push(runId);
        }
        await tenants.store.sql.query(
          `UPDATE keel_runs SET created_at = CASE WHEN run_id < 'run_archived_40'
             THEN timestamptz '2026-01-01 00:00:01.000100+00' - (substr(run_id, 14)::int * interval '1 ms')
             ELSE timestamptz '2026-01-01 00:00:00.500300+00' END
           WHERE run_id = ANY($1::text[])`,
          [archived],
        );

        // An invoker, who may not search telemetry, lists its tenant's runs and follows one, with no refused call.
        const refused: string[] = [];
        page.on("response", (response) => {
          if (response.status() === 403) refused.push(response.url());
        });
        await page.getByRole("button", { name: "Sign out" }).click();
        await page.getByLabel("API key").fill(tenants.keys["acme-invoker"]);
        await page.getByRole("button", { name: "Sign in" }).click();
        await page.locator(".who").filter({ hasText: "invoker" }).waitFor();
        await page.goto(`${tenants.server.url}/#/runs`);
        await table
          .getByRole("link", { name: acme })
          .waitFor()
          .catch(async (error: Error) => {
            throw new Error(`${error.message}\nthe page showed: ${await page.locator("main").textContent()}`);
          });
        assert.doesNotMatch((await table.textContent()) ?? "", /globex/);
        assert.ok(await page.getByRole("region", { name: "Start a run" }).isVisible());
        const runLinks = table.locator("tbody tr a[href*='#/runs/']");
        assert.equal(await runLinks.count(), 50);
        await page.getByRole("button", { name: "Show more runs" }).click();
        await table.getByRole("link", { name: archived[40]! }).waitFor();
        const shown = await runLinks.allTextContents();
        assert.deepEqual(
          [...new Set(shown)].sort(),
          [acme, ...archived].sort(),
          "every run once, none repeated",
        );
        assert.equal(shown.length, 61);
        assert.equal(await page.getByRole("button", { name: "Show more runs" }).count(), 0);
        await table.getByRole("link", { name: acme }).click();
        await page.getByRole("list", { name: "Timeline" }).getByText("Run ended").waitFor();
        assert.match((await page.locator(".run-answer").textContent()) ?? "", /acme says hello/);
        assert.deepEqual(refused, []);
        assert.deepEqual(
          problems().filter((problem) => !problem.includes("404")),
          [],
        );
      } finally {
        await close();
      }
    } finally {
      await tenants.server.close();
      await tenants.store.close();
    }
  });
});
