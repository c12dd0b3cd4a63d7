import { z } from "zod";
import { KeelError } from "../../../src/errors/keel-error.ts";
import type { SqlClient } from "../../../src/store/store.ts";
import { defineTool, type Tool } from "../../../src/tools/tool.ts";
import { readVendorData, type VendorData } from "./vendor-data.ts";

/** Names the advisory lock that serialises setups; hashed to a lock id. */
const SETUP_LOCK = "keel:examples:vendor-diligence:records";

/** The workflow's tables: reports written and vendor status changes, one row per idempotency key. Idempotent. */
export async function setupVendorDiligence(sql: SqlClient): Promise<void> {
  await sql.transaction(async (transaction) => {
    await transaction.query("SELECT pg_advisory_xact_lock(hashtext($1))", [SETUP_LOCK]);
    await transaction.query("CREATE SCHEMA IF NOT EXISTS vendor_diligence");
    await transaction.query(`CREATE TABLE IF NOT EXISTS vendor_diligence.reports (
      id serial PRIMARY KEY,
      idempotency_key text NOT NULL UNIQUE,
      vendor_id text NOT NULL,
      rating text NOT NULL,
      summary text NOT NULL)`);
    await transaction.query(`CREATE TABLE IF NOT EXISTS vendor_diligence.status_changes (
      id serial PRIMARY KEY,
      idempotency_key text NOT NULL UNIQUE,
      vendor_id text NOT NULL,
      status text NOT NULL)`);
  });
}

const VendorOutput = z.strictObject({
  found: z.boolean(),
  id: z.string(),
  name: z.string(),
  country: z.string(),
});

/** `get_vendor`: a vendor on file by its id (V-101) or its exact name; `found: false` when none matches. */
export function createGetVendorTool(data: VendorData) {
  return defineTool({
    name: "get_vendor",
    description: "Find a vendor on file by its id (such as V-101) or its exact name.",
    input: z.strictObject({ query: z.string().trim().min(1).max(200) }),
    output: VendorOutput,
    dataClasses: ["internal"],
    async execute({ query }) {
      const wanted = query.toLowerCase();
      const vendor = data.vendors.find(
        (candidate) => candidate.id.toLowerCase() === wanted || candidate.name.toLowerCase() === wanted,
      );
      return vendor ? { found: true, ...vendor } : { found: false, id: "", name: "", country: "" };
    },
  });
}

export const CHECKS = ["sanctions", "financials", "news", "certifications"] as const;
type Check = (typeof CHECKS)[number];

const ReportInput = z.strictObject({
  vendorId: z.string().min(1),
  vendorName: z.string().min(1),
  sanctions: z.string().default(""),
  financials: z.string().default(""),
  news: z.string().default(""),
  certifications: z.string().default(""),
  /** The checks that failed or timed out, as the parallel node records them ({branch, error}). */
  unchecked: z.array(z.looseObject({ branch: z.string() })).default([]),
});
type ReportInput = z.infer<typeof ReportInput>;

const ReportOutput = z.strictObject({
  reportId: z.string(),
  rating: z.enum(["clear", "review", "incomplete", "blocked"]),
  unchecked: z.array(z.string()),
  summary: z.string(),
});
type ReportOutput = z.infer<typeof ReportOutput>;

/**
 * The report's rating and text, a pure function of the findings: a sanctions HIT blocks; a check without a finding
 * (failed, timed out) makes it incomplete; a CONCERN asks for review; otherwise it is clear. It always says what
 * could not be checked.
 */
export function composeReport(input: ReportInput): Omit<ReportOutput, "reportId"> {
  const failed = new Set(input.unchecked.map((entry) => entry.branch));
  const findings = Object.fromEntries(CHECKS.map((check) => [check, input[check].trim()])) as Record<
    Check,
    string
  >;
  const unchecked = CHECKS.filter((check) => failed.has(check) || findings[check] === "");
  const lines = CHECKS.map((check) =>
    unchecked.includes(check)
      ? `- ${check}: NOT CHECKED (${why(input, check)})`
      : `- ${check}: ${findings[check]}`,
  );
  const verdicts = CHECKS.filter((check) => !unchecked.includes(check)).map((check) => findings[check]);
  const rating = verdicts.some((text) => text.startsWith("HIT"))
    ? "blocked"
    : unchecked.length > 0
      ? "incomplete"
      : verdicts.some((text) => !text.startsWith("CLEAR"))
        ? "review"
        : "clear";
  const closing =
    unchecked.length === 0
      ? "All four checks completed."
      : `Could not check: ${unchecked.join(", ")}. Run those again before relying on this report.`;
  const summary = [
    `Due diligence on ${input.vendorName} (${input.vendorId}): ${rating}.`,
    ...lines,
    closing,
  ].join("\n");
  return { rating, unchecked, summary };
}

function why(input: ReportInput, check: Check): string {
  const record = input.unchecked.find((entry) => entry.branch === check) as { error?: unknown } | undefined;
  const error = record?.error;
  if (typeof error === "string") return error;
  if (error && typeof error === "object" && "message" in error) return String(error.message);
  return record ? "it failed" : "no finding came back";
}

/** `write_report`: file the diligence report of a vendor; once per idempotency key. */
export function createWriteReportTool(options: { sql: SqlClient }) {
  const { sql } = options;
  type Row = { id: number; vendor_id: string; rating: string; summary: string };
  const present = (row: Row, composed: Omit<ReportOutput, "reportId">): ReportOutput => ({
    ...composed,
    reportId: `VDR-${String(row.id).padStart(5, "0")}`,
  });
  const find = async (idempotencyKey: string, vendorId: string) => {
    const row = (
      await sql.query<Row>(
        "SELECT id, vendor_id, rating, summary FROM vendor_diligence.reports WHERE idempotency_key = $1",
        [idempotencyKey],
      )
    ).rows[0];
    if (row && row.vendor_id !== vendorId) {
      throw new KeelError(
        "conflict",
        `Idempotency key ${idempotencyKey} was already used for report #${row.id}.`,
      );
    }
    return row;
  };
  return defineTool({
    name: "write_report",
    description:
      "File a vendor's due-diligence report from the four checks' findings, saying which checks could not be made.",
    input: ReportInput,
    output: ReportOutput,
    sideEffect: true,
    dataClasses: ["internal"],
    async execute(input, context) {
      context.signal.throwIfAborted();
      const composed = composeReport(input);
      const inserted = (
        await sql.query<Row>(
          `INSERT INTO vendor_diligence.reports (idempotency_key, vendor_id, rating, summary) VALUES ($1, $2, $3, $4)
           ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, vendor_id, rating, summary`,
          [context.idempotencyKey, input.vendorId, composed.rating, composed.summary],
        )
      ).rows[0];
      const row = inserted ?? (await find(context.idempotencyKey, input.vendorId));
      if (!row) throw new KeelError("internal", "The report was neither written nor found; try again.");
      return present(row, composed);
    },
    async reconcile(input, context) {
      const row = await find(context.idempotencyKey, input.vendorId);
      return row ? { applied: true, result: present(row, composeReport(input)) } : { applied: false };
    },
  });
}

/** `set_vendor_status`: approve a vendor for purchasing, or block it (which stops its payments); once per key. */
export function createSetVendorStatusTool(options: { sql: SqlClient; data: VendorData }) {
  const { sql, data } = options;
  type Row = { id: number; vendor_id: string; status: string };
  const present = (row: Row) => ({
    changeId: row.id,
    vendorId: row.vendor_id,
    status: row.status as "approved" | "blocked",
  });
  const find = async (idempotencyKey: string, input: { vendorId: string; status: string }) => {
    const row = (
      await sql.query<Row>(
        "SELECT id, vendor_id, status FROM vendor_diligence.status_changes WHERE idempotency_key = $1",
        [idempotencyKey],
      )
    ).rows[0];
    if (row && (row.vendor_id !== input.vendorId || row.status !== input.status)) {
      throw new KeelError(
        "conflict",
        `Idempotency key ${idempotencyKey} was already used for change #${row.id}.`,
      );
    }
    return row;
  };
  return defineTool({
    name: "set_vendor_status",
    description: "Approve a vendor for purchasing, or block it (its open orders and payments stop).",
    input: z.strictObject({
      vendorId: z.string().regex(/^V-\d{3}$/),
      status: z.enum(["approved", "blocked"]),
    }),
    output: z.strictObject({
      changeId: z.number().int(),
      vendorId: z.string(),
      status: z.enum(["approved", "blocked"]),
    }),
    sideEffect: true,
    dataClasses: ["internal"],
    async execute(input, context) {
      context.signal.throwIfAborted();
      if (!data.vendors.some((vendor) => vendor.id === input.vendorId)) {
        throw new KeelError("not_found", `No vendor ${input.vendorId} is on file.`);
      }
      const inserted = (
        await sql.query<Row>(
          `INSERT INTO vendor_diligence.status_changes (idempotency_key, vendor_id, status) VALUES ($1, $2, $3)
           ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, vendor_id, status`,
          [context.idempotencyKey, input.vendorId, input.status],
        )
      ).rows[0];
      const row = inserted ?? (await find(context.idempotencyKey, input));
      if (!row)
        throw new KeelError("internal", "The status change was neither written nor found; try again.");
      return present(row);
    },
    async reconcile(input, context) {
      const row = await find(context.idempotencyKey, input);
      return row ? { applied: true, result: present(row) } : { applied: false };
    },
  });
}

/** The workflow's own tools (the checks run in the check agents). */
export function createDiligenceTools(options: { sql: SqlClient }): Tool[] {
  const data = readVendorData();
  return [
    createGetVendorTool(data),
    createWriteReportTool(options),
    createSetVendorStatusTool({ sql: options.sql, data }),
  ];
}
