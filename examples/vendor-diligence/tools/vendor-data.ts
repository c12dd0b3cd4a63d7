import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

const VendorData = z.strictObject({
  /** The day the bundled records describe: certificates are valid or expired as of it, whatever today is. */
  asOf: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  vendors: z.array(z.strictObject({ id: z.string(), name: z.string(), country: z.string() })),
  sanctions: z.array(
    z.strictObject({ vendorId: z.string(), list: z.string(), entry: z.string(), listedOn: z.string() }),
  ),
  financials: z.array(
    z.strictObject({
      vendorId: z.string(),
      year: z.number().int(),
      revenue: z.number(),
      netIncome: z.number(),
      currentRatio: z.number(),
      auditOpinion: z.enum(["unqualified", "qualified", "going-concern"]),
    }),
  ),
  news: z.array(
    z.strictObject({ vendorId: z.string(), date: z.string(), headline: z.string(), adverse: z.boolean() }),
  ),
  /** Vendors whose news search is slow (a large archive): longer than the diligence workflow waits for a check. */
  slowNewsVendors: z.array(z.string()),
  certifications: z.array(
    z.strictObject({ vendorId: z.string(), standard: z.string(), validUntil: z.string() }),
  ),
});
export type VendorData = z.infer<typeof VendorData>;

/** The bundled vendor records (`../data/vendors.json`). */
export function readVendorData(): VendorData {
  const file = join(import.meta.dirname, "..", "data", "vendors.json");
  return VendorData.parse(JSON.parse(readFileSync(file, "utf8")));
}

export const VendorId = z
  .string()
  .trim()
  .toUpperCase()
  .regex(/^V-\d{3}$/, "expected a vendor id such as V-101");
