import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadDataset } from "../../../src/evals/load-dataset.ts";
import { callTool } from "../../support-triage/test-shop-databases.ts";
import {
  createGetCertificationsTool,
  createGetFinancialsTool,
  createScreenSanctionsTool,
  createSearchNewsTool,
} from "./check-tools.ts";
import { CHECKS, composeReport } from "./diligence-tools.ts";
import { readVendorData } from "./vendor-data.ts";

const data = readVendorData();
const checkTools = {
  sanctions: createScreenSanctionsTool(data),
  financials: createGetFinancialsTool(data),
  news: createSearchNewsTool(data, { slowMs: 50 }),
  certifications: createGetCertificationsTool(data),
};

describe("the vendor-diligence check tools and report", () => {
  test("each check answers one finding led by its verdict, from the bundled records as of their date", async () => {
    const finding = async (check: keyof typeof checkTools, vendorId: string) =>
      ((await callTool(checkTools[check], { vendorId })) as { finding: string }).finding;
    assert.equal(
      await finding("sanctions", "V-102"),
      "HIT: Contoso Metals is listed on the EU consolidated financial sanctions list (entry EU-2291, since 2026-04-14).",
    );
    assert.equal(await finding("sanctions", "v-101"), "CLEAR: Northwind Traders is on no sanctions list.");
    assert.equal(
      await finding("financials", "V-104"),
      "CONCERN: Tailspin Parts has a going-concern audit opinion, a net loss in 2025, a current ratio of 0.6.",
    );
    assert.equal(await finding("certifications", "V-105"), "CONCERN: ISO 9001 expired on 2026-05-31");
    assert.match(await finding("news", "V-106"), /^CONCERN: "Regulator fines Litware Components/);
    await assert.rejects(callTool(checkTools.sanctions, { vendorId: "V-999" }), /No vendor V-999 is on file/);
  });

  test("a slow news search stops as soon as its call is aborted", async () => {
    const slow = createSearchNewsTool(data, { slowMs: 60_000 });
    const controller = new AbortController();
    const started = performance.now();
    setTimeout(() => controller.abort(new Error("the branch timed out")), 50);
    await assert.rejects(callTool(slow, { vendorId: "V-103" }, { signal: controller.signal }), {
      name: "AbortError",
    });
    assert.ok(performance.now() - started < 5_000);
  });

  test("every vendor case's expected report is what the checks and composeReport make, a slow news search unchecked", async () => {
    const dataset = await loadDataset(new URL("../evals/vendors.yaml", import.meta.url).pathname);
    let compared = 0;
    for (const entry of dataset.cases) {
      const vendor = entry.expect.tools?.arguments?.write_report as
        | { vendorId: string; vendorName: string }
        | undefined;
      if (!vendor) continue;
      const findings: Record<string, string> = {};
      const unchecked: { branch: string; error: string }[] = [];
      for (const check of CHECKS) {
        if (check === "news" && data.slowNewsVendors.includes(vendor.vendorId)) {
          unchecked.push({ branch: check, error: "timed out after 3s" });
          continue;
        }
        findings[check] = (
          (await callTool(checkTools[check], { vendorId: vendor.vendorId })) as { finding: string }
        ).finding;
      }
      const report = composeReport({
        ...vendor,
        sanctions: "",
        financials: "",
        news: "",
        certifications: "",
        ...findings,
        unchecked,
      });
      for (const text of [entry.expect.output?.contains ?? []].flat()) {
        assert.ok(
          report.summary.toLowerCase().includes(text.toLowerCase()),
          `${entry.id}: "${text}" in\n${report.summary}`,
        );
      }
      const blocked = entry.expect.tools?.arguments?.set_vendor_status?.status === "blocked";
      assert.equal(report.rating === "blocked", blocked, entry.id);
      assert.equal(
        report.rating === "clear",
        entry.expect.tools?.arguments?.set_vendor_status?.status === "approved",
        entry.id,
      );
      compared += 1;
    }
    assert.ok(compared >= 24, `${compared} vendor cases`);
  });
});
