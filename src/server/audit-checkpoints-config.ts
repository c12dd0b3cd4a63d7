import { readFile } from "node:fs/promises";
import { KeelError } from "../errors/index.ts";
import type { SqlClient } from "../store/index.ts";
import {
  type AuditSigner,
  loadAuditSigner,
  readGeneratedKey,
  startAuditCheckpoints,
} from "../store/index.ts";

/**
 * The log operator's signing key as the environment chooses it: the Ed25519 PKCS#8 PEM file named by
 * KEEL_AUDIT_KEY_FILE, or else the key Keel generates and keeps in the store.
 */
export async function auditSignerFromEnv(
  sql: SqlClient,
  env: Readonly<Record<string, string | undefined>>,
): Promise<AuditSigner> {
  const file = env.KEEL_AUDIT_KEY_FILE;
  if (!file) return await loadAuditSigner(sql);
  let privateKeyPem: string;
  try {
    privateKeyPem = await readFile(file, "utf8");
  } catch (error) {
    throw new KeelError("invalid_request", `KEEL_AUDIT_KEY_FILE: cannot read ${file}`, { cause: error });
  }
  return await loadAuditSigner(sql, { privateKeyPem });
}

/**
 * The signing key if there is one already: the KEEL_AUDIT_KEY_FILE key, or the generated key when one is stored.
 * Unlike `auditSignerFromEnv` it never generates a key, for commands that only read the log.
 */
export async function existingAuditSignerFromEnv(
  sql: SqlClient,
  env: Readonly<Record<string, string | undefined>>,
): Promise<AuditSigner | null> {
  return env.KEEL_AUDIT_KEY_FILE ? await auditSignerFromEnv(sql, env) : await readGeneratedKey(sql);
}

/**
 * Sign audit checkpoints in the background of `keel serve` and `keel worker`: every KEEL_AUDIT_CHECKPOINT_EVENTS
 * events (default 1,000) and at least every KEEL_AUDIT_CHECKPOINT_SECONDS (default 10) while events arrive.
 */
export async function startAuditCheckpointsFromEnv(options: {
  sql: SqlClient;
  env: Readonly<Record<string, string | undefined>>;
  log: (message: string) => void;
}): Promise<{ stop: () => Promise<void> }> {
  const everyEvents = wholeNumber(options.env, "KEEL_AUDIT_CHECKPOINT_EVENTS", 1_000);
  const everySeconds = wholeNumber(options.env, "KEEL_AUDIT_CHECKPOINT_SECONDS", 10);
  const signer = await auditSignerFromEnv(options.sql, options.env);
  return startAuditCheckpoints({
    sql: options.sql,
    signer,
    schedule: { everyEvents, everyMs: everySeconds * 1_000 },
    log: options.log,
  });
}

function wholeNumber(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: number,
): number {
  const text = env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new KeelError("invalid_request", `${name} must be a whole number of at least 1, not "${text}"`, {
      issues: [{ path: name, message: "must be a whole number of at least 1" }],
    });
  }
  return value;
}
