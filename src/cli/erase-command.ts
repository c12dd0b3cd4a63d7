import { userInfo } from "node:os";
import { parseArgs } from "node:util";
import { KeelError } from "../errors/index.ts";
import { eraseSubject } from "../store/index.ts";
import type { CliIo } from "./cli-io.ts";
import { openCliStore } from "./open-cli-store.ts";
import { reportCliError, usageError } from "./report-cli-error.ts";

/** Usage of `keel erase`, for `keel --help` and usage errors. */
export const ERASE_USAGE = `  erase --subject S [--tenant T] [--data-dir .keel] [--json]
                                   erase a person's data: destroy the subject's key (its runs' sealed journal
                                   fields read as erased; journal and audit log still verify), delete its sessions
                                   and memories, blank plain copies; journaled as a keel.erasure run`;

const OPTIONS = {
  subject: { type: "string" },
  tenant: { type: "string" },
  "data-dir": { type: "string" },
  json: { type: "boolean" },
} as const;

/**
 * `keel erase --subject S`: straight into the store (DATABASE_URL, else the data directory), like `keel kb`; a
 * running server erases through `POST /v1/subjects/{subject}/erase`. Prints what was erased and the record's run.
 */
export async function eraseCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length > 1)
      throw usageError(`unexpected arguments: ${positionals.slice(1).join(" ")}`, ERASE_USAGE);
    const subject = values.subject?.trim();
    if (!subject) throw usageError("keel erase needs --subject S", ERASE_USAGE);
    if (subject.length > 200) {
      throw new KeelError("invalid_request", "--subject: must be at most 200 characters", {
        issues: [{ path: "--subject", message: "must be at most 200 characters" }],
      });
    }
    const tenant = values.tenant ?? "default";
    const opened = await openCliStore({ io, dataDir: values["data-dir"] ?? io.env.KEEL_DATA_DIR ?? ".keel" });
    try {
      const by = { subject: `cli:${io.env.USER ?? userInfo().username}`, tenant, roles: ["admin"] };
      const report = await eraseSubject(opened.store, { tenant, subject, by });
      if (values.json) {
        io.out(
          JSON.stringify({
            erased: report.counts,
            record: { runId: report.recordRunId, subjectHash: report.subjectHash },
          }),
        );
        return 0;
      }
      const { counts } = report;
      io.out(
        `erased subject in tenant ${tenant} (${opened.where}): key ${counts.keys ? "destroyed" : "none held"}, ${counts.runs} runs blanked, ${counts.sessions} sessions and ${counts.memories} memories deleted, ${counts.approvals} approvals, ${counts.sealedArguments} sealed arguments and ${counts.annotations} feedback or evaluation texts cleared`,
      );
      io.out(`journaled as run ${report.recordRunId} (subject hash ${report.subjectHash})`);
      return 0;
    } finally {
      await opened.close();
    }
  } catch (error) {
    return reportCliError(error, io);
  }
}
