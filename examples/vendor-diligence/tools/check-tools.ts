import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { KeelError } from "../../../src/errors/keel-error.ts";
import { defineTool } from "../../../src/tools/tool.ts";
import { type VendorData, VendorId } from "./vendor-data.ts";

/** How long the news archive takes for a slow vendor: longer than the workflow's per-check timeout. */
export const SLOW_NEWS_MS = 8_000;

/** Every check answers one finding that starts with its verdict: CLEAR, CONCERN or HIT. */
const Finding = z.strictObject({
  vendorId: z.string(),
  verdict: z.enum(["CLEAR", "CONCERN", "HIT"]),
  finding: z.string(),
});
type Finding = z.infer<typeof Finding>;

function known(data: VendorData, vendorId: string) {
  const vendor = data.vendors.find((candidate) => candidate.id === vendorId);
  if (!vendor) throw new KeelError("not_found", `No vendor ${vendorId} is on file.`);
  return vendor;
}

function finding(vendorId: string, verdict: Finding["verdict"], text: string): Finding {
  return { vendorId, verdict, finding: `${verdict}: ${text}` };
}

/** `screen_sanctions`: the vendor against the sanctions lists the bundled data holds. */
export function createScreenSanctionsTool(data: VendorData) {
  return defineTool({
    name: "screen_sanctions",
    description: "Screen a vendor against the OFAC, EU and UK sanctions lists.",
    input: z.strictObject({ vendorId: VendorId }),
    output: Finding,
    dataClasses: ["internal"],
    async execute({ vendorId }) {
      const vendor = known(data, vendorId);
      const hits = data.sanctions.filter((entry) => entry.vendorId === vendorId);
      if (hits.length === 0) return finding(vendorId, "CLEAR", `${vendor.name} is on no sanctions list.`);
      const where = hits.map((hit) => `${hit.list} (entry ${hit.entry}, since ${hit.listedOn})`).join("; ");
      return finding(vendorId, "HIT", `${vendor.name} is listed on the ${where}.`);
    },
  });
}

/** `get_financials`: the vendor's last filed accounts, read as a concern or not. */
export function createGetFinancialsTool(data: VendorData) {
  return defineTool({
    name: "get_financials",
    description:
      "Read a vendor's last filed accounts: revenue, net income, current ratio and the auditor's opinion.",
    input: z.strictObject({ vendorId: VendorId }),
    output: Finding,
    dataClasses: ["financial"],
    async execute({ vendorId }) {
      const vendor = known(data, vendorId);
      const accounts = data.financials.find((entry) => entry.vendorId === vendorId);
      if (!accounts) return finding(vendorId, "CONCERN", `${vendor.name} has filed no accounts we hold.`);
      const problems = [
        ...(accounts.auditOpinion === "unqualified" ? [] : [`a ${accounts.auditOpinion} audit opinion`]),
        ...(accounts.netIncome < 0 ? [`a net loss in ${accounts.year}`] : []),
        ...(accounts.currentRatio < 1 ? [`a current ratio of ${accounts.currentRatio}`] : []),
      ];
      return problems.length === 0
        ? finding(
            vendorId,
            "CLEAR",
            `${vendor.name} was profitable in ${accounts.year} with an unqualified audit.`,
          )
        : finding(vendorId, "CONCERN", `${vendor.name} has ${problems.join(", ")}.`);
    },
  });
}

/** `search_news`: adverse headlines about the vendor; slow for vendors with a large archive. */
export function createSearchNewsTool(data: VendorData, options: { slowMs?: number } = {}) {
  const slowMs = options.slowMs ?? SLOW_NEWS_MS;
  return defineTool({
    name: "search_news",
    description: "Search the news archive for adverse headlines about a vendor (can take several seconds).",
    input: z.strictObject({ vendorId: VendorId }),
    output: Finding,
    dataClasses: ["public"],
    async execute({ vendorId }, context) {
      const vendor = known(data, vendorId);
      if (data.slowNewsVendors.includes(vendorId)) await sleep(slowMs, undefined, { signal: context.signal });
      const adverse = data.news.filter((item) => item.vendorId === vendorId && item.adverse);
      return adverse.length === 0
        ? finding(vendorId, "CLEAR", `no adverse news about ${vendor.name}.`)
        : finding(vendorId, "CONCERN", adverse.map((item) => `"${item.headline}" (${item.date})`).join("; "));
    },
  });
}

/** `get_certifications`: the vendor's certificates, valid or expired as of the records' date. */
export function createGetCertificationsTool(data: VendorData) {
  return defineTool({
    name: "get_certifications",
    description: "List a vendor's quality and security certificates and whether each is still valid.",
    input: z.strictObject({ vendorId: VendorId }),
    output: Finding,
    dataClasses: ["internal"],
    async execute({ vendorId }) {
      const vendor = known(data, vendorId);
      const certificates = data.certifications.filter((entry) => entry.vendorId === vendorId);
      if (certificates.length === 0)
        return finding(vendorId, "CONCERN", `${vendor.name} holds no certificate.`);
      const expired = certificates.filter((entry) => entry.validUntil < data.asOf);
      return expired.length === 0
        ? finding(
            vendorId,
            "CLEAR",
            certificates.map((entry) => `${entry.standard} valid until ${entry.validUntil}`).join("; "),
          )
        : finding(
            vendorId,
            "CONCERN",
            expired.map((entry) => `${entry.standard} expired on ${entry.validUntil}`).join("; "),
          );
    },
  });
}
