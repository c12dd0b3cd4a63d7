import { createPublicKey, type KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { KeelError } from "../errors/index.ts";
import type { AuditVerdict } from "../journal/index.ts";
import { auditKeyId, verifyAuditBundle } from "../journal/index.ts";
import { auditSignerFromEnv, existingAuditSignerFromEnv } from "../server/index.ts";
import type { SqlStore } from "../store/index.ts";
import {
  createAuditCheckpoint,
  exportAuditBundle,
  type StoreAuditVerdict,
  verifyStoreAuditLog,
} from "../store/index.ts";
import { readBundle, writeBundle } from "./audit-bundle-files.ts";
import type { CliIo } from "./cli-io.ts";
import { openCliStore } from "./open-cli-store.ts";
import { reportCliError, usageError } from "./report-cli-error.ts";

/** Usage of `keel audit`, for `keel --help` and usage errors. */
export const AUDIT_USAGE = `  audit verify [--full] [--public-key PEM…] [--threads N] [--json]
                                   recompute the audit log from the store: events, chains, tree, signed checkpoints;
                                   by default only what was appended since the last signed verification record
                                   (events before it are counted, not re-hashed); --full re-reads every event
  audit checkpoint                 sign a checkpoint over every event committed so far
  audit export [--run R] [--out DIR]
                                   write a bundle an auditor can verify without the store (README inside)
  audit verify-bundle <DIR> [--public-key PEM…] [--json]
                                   verify a bundle with nothing but its files
  audit public-key                 the log's signing key (PEM and key id), to publish for auditors
      (audit commands read the store directly: DATABASE_URL, or --data-dir .keel with keel serve stopped)`;

const OPTIONS = {
  "data-dir": { type: "string" },
  "public-key": { type: "string", multiple: true },
  threads: { type: "string" },
  run: { type: "string" },
  out: { type: "string" },
  json: { type: "boolean" },
  full: { type: "boolean" },
} as const;

/** `keel audit …`: parses its own flags. */
export async function auditCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    const [, command, ...rest] = positionals;
    const pinned = values["public-key"] ? await readPublicKeys(values["public-key"]) : undefined;
    const threads =
      values.threads === undefined ? availableParallelism() : wholeNumber(values.threads, "--threads", 0, 64);
    const json = values.json ?? false;
    switch (command) {
      case "verify":
        return await withStore(io, values["data-dir"], async (store) => {
          const started = performance.now();
          const signer = await existingAuditSignerFromEnv(store.sql, io.env);
          const verdict = await verifyStoreAuditLog(store.sql, {
            threads,
            incremental: !values.full,
            ...(signer ? { signer } : {}),
            ...(pinned ? { trustedKeys: pinned } : {}),
          });
          const seconds = (performance.now() - started) / 1_000;
          if (json) io.out(JSON.stringify({ ...verdict, seconds }, null, 2));
          else {
            printVerdict(io, `audit log ${verdict.logId}`, verdict, verdict.pinned, seconds);
            printCoverage(io, verdict);
          }
          return verdict.ok ? 0 : 1;
        });
      case "checkpoint":
        return await withStore(io, values["data-dir"], async (store) => {
          const signer = await auditSignerFromEnv(store.sql, io.env);
          const checkpoint = await createAuditCheckpoint(store.sql, { signer });
          if (!checkpoint) io.out("nothing to sign: no event was appended since the last checkpoint");
          else
            io.out(
              `✔ signed checkpoint ${checkpoint.treeSize} (root ${checkpoint.rootHash}) with key ${checkpoint.keyId}`,
            );
          return 0;
        });
      case "export":
        return await withStore(io, values["data-dir"], async (store) => {
          // Sign what is there first, so the bundle covers every event committed up to now.
          await createAuditCheckpoint(store.sql, { signer: await auditSignerFromEnv(store.sql, io.env) });
          const bundle = await exportAuditBundle(
            store.sql,
            values.run === undefined ? {} : { runId: values.run },
          );
          const out = resolve(values.out ?? `keel-audit-${values.run ?? "log"}-${bundle.manifest.treeSize}`);
          await writeBundle(out, bundle);
          io.out(
            `✔ wrote ${bundle.manifest.events} events, ${bundle.checkpoints.length} checkpoint${bundle.checkpoints.length === 1 ? "" : "s"} and proofs to ${out}`,
          );
          io.out(`  verify: keel audit verify-bundle ${out} --public-key <the operator's key>`);
          return 0;
        });
      case "verify-bundle": {
        if (!rest[0]) throw usageError("keel audit verify-bundle <DIR>", AUDIT_USAGE);
        const started = performance.now();
        let verdict: Awaited<ReturnType<typeof verifyAuditBundle>>;
        try {
          verdict = await verifyAuditBundle(await readBundle(rest[0]), {
            threads,
            ...(pinned ? { trustedKeys: pinned } : {}),
          });
        } catch (error) {
          if (!(error instanceof KeelError)) throw error;
          io.err(`✖ bundle ${rest[0]} cannot be read: ${error.message}`);
          return 1;
        }
        const seconds = (performance.now() - started) / 1_000;
        if (json) io.out(JSON.stringify({ ...verdict, seconds }, null, 2));
        else printVerdict(io, `bundle ${rest[0]}`, verdict, verdict.pinned, seconds);
        return verdict.ok ? 0 : 1;
      }
      case "public-key":
        return await withStore(io, values["data-dir"], async (store) => {
          const signer = await auditSignerFromEnv(store.sql, io.env);
          io.out(`key id ${signer.keyId}`);
          io.out(signer.publicKey.export({ format: "pem", type: "spki" }).toString().trimEnd());
          return 0;
        });
      default:
        throw usageError(
          command ? `unknown audit command "${command}"` : "keel audit needs a command",
          AUDIT_USAGE,
        );
    }
  } catch (error) {
    return reportCliError(error, io, AUDIT_USAGE);
  }
}

/**
 * Open the store `keel serve` uses (PostgreSQL from DATABASE_URL, or the embedded one, locked), run, close. A data
 * directory with no store in it is refused: verifying a store just created empty would report it intact.
 */
async function withStore(
  io: CliIo,
  dataDir: string | undefined,
  work: (store: SqlStore) => Promise<number>,
): Promise<number> {
  const opened = await openCliStore({ io, dataDir: dataDir ?? io.env.KEEL_DATA_DIR ?? ".keel" });
  try {
    return await work(opened.store);
  } finally {
    await opened.close();
  }
}

async function readPublicKeys(files: readonly string[]): Promise<Map<string, KeyObject>> {
  const keys = new Map<string, KeyObject>();
  for (const file of files) {
    let key: KeyObject;
    try {
      key = createPublicKey(await readFile(file, "utf8"));
    } catch (error) {
      throw new KeelError("invalid_request", `--public-key ${file} is not a PEM public key`, {
        cause: error,
      });
    }
    keys.set(auditKeyId(key), key);
  }
  return keys;
}

function printVerdict(
  io: CliIo,
  what: string,
  verdict: AuditVerdict,
  pinned: boolean,
  seconds: number,
): void {
  const runs = `${verdict.runs.toLocaleString("en")} run${verdict.runs === 1 ? "" : "s"}`;
  const counts = `${verdict.leaves.toLocaleString("en")} events ${verdict.from > 0 ? `(${runs} among those re-read)` : `in ${runs}`}, ${verdict.checkpoints} checkpoint${verdict.checkpoints === 1 ? "" : "s"}`;
  if (verdict.ok) {
    const latest = verdict.latest;
    io.out(`✔ ${what}: intact — ${counts} (${seconds.toFixed(2)} s)`);
    if (latest) {
      io.out(
        `  latest checkpoint: ${latest.treeSize.toLocaleString("en")} leaves, root ${latest.rootHash}, signed ${latest.timestamp} by key ${latest.keyId}`,
      );
    }
    if (verdict.unsigned > 0)
      io.out(`  ${verdict.unsigned.toLocaleString("en")} events after it are intact but not signed yet`);
  } else {
    io.err(`✖ ${what}: ${verdict.problemCount} problem${verdict.problemCount === 1 ? "" : "s"} — ${counts}`);
    for (const problem of verdict.problems) {
      const where = [
        problem.leafIndex === undefined ? null : `leaf ${problem.leafIndex}`,
        problem.runId === undefined
          ? null
          : `run ${problem.runId}${problem.seq === undefined ? "" : ` seq ${problem.seq}`}`,
        problem.treeSize === undefined ? null : `checkpoint ${problem.treeSize}`,
      ].filter(Boolean);
      io.err(`  ${problem.kind}${where.length > 0 ? ` (${where.join(", ")})` : ""}: ${problem.message}`);
    }
    if (verdict.problemCount > verdict.problems.length)
      io.err(`  … and ${verdict.problemCount - verdict.problems.length} more`);
  }
  if (!pinned) {
    io.out(
      "  ⚠ keys were not pinned: pass --public-key with the operator's published key to rule out a re-signed log",
    );
  }
}

/** How much of the log this verify re-read, and what it left for the next one. */
function printCoverage(io: CliIo, verdict: StoreAuditVerdict): void {
  const from = verdict.continuedFrom;
  if (from) {
    io.out(
      `  incremental: re-read the ${(verdict.leaves - verdict.from).toLocaleString("en")} events after checkpoint ${from.treeSize.toLocaleString("en")}, verified ${from.mode} on ${from.verifiedAt}; the ${verdict.from.toLocaleString("en")} before it were counted, not re-hashed (--full re-hashes every event)`,
    );
  } else if (verdict.fullBecause && verdict.fullBecause !== "a full verify was asked for") {
    io.out(`  full: every event re-read, because ${verdict.fullBecause}`);
  }
  if (verdict.recorded) {
    io.out(
      `  recorded: verified up to checkpoint ${verdict.recorded.treeSize.toLocaleString("en")}, signed by key ${verdict.recorded.keyId}`,
    );
  } else if (verdict.notRecorded && verdict.ok) {
    io.out(`  not recorded: ${verdict.notRecorded}`);
  }
}

function wholeNumber(text: string, flag: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new KeelError(
      "invalid_request",
      `${flag} must be a whole number from ${min} to ${max}, not "${text}"`,
      {
        issues: [{ path: flag, message: `must be a whole number from ${min} to ${max}` }],
      },
    );
  }
  return value;
}
