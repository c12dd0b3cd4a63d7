import { existsSync, mkdirSync } from "node:fs";
import type { AxeResults } from "axe-core";
import { type Browser, chromium, type Page } from "playwright-core";

/** Debian's Chromium, which `.ci/run` installs: the console's tests never download a browser. */
export const CHROMIUM = process.env.KEEL_CHROMIUM ?? "/usr/bin/chromium";

/** Why the browser tests cannot run here, or false; under CI=true they always run (a missing browser fails them). */
export const noBrowser: string | false =
  !existsSync(CHROMIUM) && process.env.CI !== "true" ? `Chromium is not installed at ${CHROMIUM}` : false;

/**
 * Where the tests save each view's screenshot: docs/console/ (shown in docs/console.md) when
 * KEEL_UPDATE_SCREENSHOTS=1, else .keel/screenshots/, so an ordinary test run leaves the checkout as it was.
 */
export const SCREENSHOTS = new URL(
  process.env.KEEL_UPDATE_SCREENSHOTS === "1" ? "../../docs/console/" : "../../.keel/screenshots/",
  import.meta.url,
);

/** Start Debian's Chromium headless through playwright-core (as root it needs --no-sandbox). */
export async function launchBrowser(): Promise<Browser> {
  return await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
  });
}

/**
 * A page whose failures fail the test: an uncaught script error, a console error, a request the page could not
 * make, or a content security policy violation are collected, and `problems()` lists them.
 */
export async function openPage(
  browser: Browser,
  url: string,
): Promise<{ page: Page; problems: () => string[]; close: () => Promise<void> }> {
  const context = await browser.newContext({ viewport: { width: 1360, height: 860 }, locale: "en-US" });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    // A refused call the console shows as an error note is not a fault of the page.
    if (
      message.type() === "error" &&
      !/the server responded with a status of (401|403|404|409)/.test(message.text())
    )
      problems.push(`console error: ${message.text()}`);
  });
  page.on("requestfailed", (request) => {
    const failure = request.failure()?.errorText ?? "";
    // Leaving a page aborts its event streams; that is not a failure.
    if (!failure.includes("ERR_ABORTED")) problems.push(`request failed: ${request.url()} ${failure}`);
  });
  await page.goto(url);
  return { page, problems: () => [...problems], close: () => context.close() };
}

/**
 * Run axe-core on the page as it is now and answer its serious and critical violations (WCAG 2.1 A and AA rules),
 * each as `rule: what failed (where)`.
 */
export async function seriousViolations(page: Page): Promise<string[]> {
  // Evaluated through the debugging protocol, which the page's content security policy (no inline script) allows.
  await page.evaluate(await axeSource());
  const results = (await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as { axe: { run: (context: unknown, options: unknown) => Promise<unknown> } }
    ).axe;
    return await axe.run((globalThis as unknown as { document: unknown }).document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
    });
  })) as AxeResults;
  return results.violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map(
      (violation) =>
        `${violation.id}: ${violation.help} (${violation.nodes
          .slice(0, 3)
          .map((node) => node.target.join(" "))
          .join("; ")})`,
    );
}

let axe: string | undefined;
async function axeSource(): Promise<string> {
  if (axe === undefined) {
    const { readFile } = await import("node:fs/promises");
    const { createRequire } = await import("node:module");
    axe = await readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
  }
  return axe;
}

/** Save a screenshot of the page for docs/console.md (`name.png`). */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: new URL(`${name}.png`, SCREENSHOTS).pathname, fullPage: false });
}
