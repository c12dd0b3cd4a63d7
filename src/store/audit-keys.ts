import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { KeelError } from "../errors/index.ts";
import { auditKeyId, publicKeyFromRaw, rawPublicKey } from "../journal/index.ts";
import type { SqlClient } from "./store.ts";

/** The key the log operator signs checkpoints with. */
export type AuditSigner = { keyId: string; privateKey: KeyObject; publicKey: KeyObject };

/**
 * The signing key for checkpoints. With `privateKeyPem` (an Ed25519 PKCS#8 key the operator keeps in a file)
 * only its public half is registered in the store. Without it, Keel's own generated key: the first process
 * makes it, every other one finds it. A key kept outside the database is the stronger choice: whoever can
 * write the database can also re-sign a log with a key stored in it (docs/security.md).
 */
export async function loadAuditSigner(
  sql: SqlClient,
  options: { privateKeyPem?: string } = {},
): Promise<AuditSigner> {
  if (options.privateKeyPem !== undefined) {
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(options.privateKeyPem);
    } catch (error) {
      throw new KeelError("invalid_request", "the audit key file is not a PEM private key", { cause: error });
    }
    if (privateKey.asymmetricKeyType !== "ed25519") {
      throw new KeelError("invalid_request", "the audit key file must hold an Ed25519 private key");
    }
    const publicKey = createPublicKey(privateKey);
    const keyId = auditKeyId(publicKey);
    await sql.query(
      "INSERT INTO keel_audit_keys (key_id, public_key) VALUES ($1, $2) ON CONFLICT (key_id) DO NOTHING",
      [keyId, rawPublicKey(publicKey).toString("base64")],
    );
    return { keyId, privateKey, publicKey };
  }
  const existing = await readGeneratedKey(sql);
  if (existing) return existing;
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  await sql.query(
    `INSERT INTO keel_audit_keys (key_id, public_key, private_pkcs8) VALUES ($1, $2, $3)
     ON CONFLICT DO NOTHING`,
    [
      auditKeyId(publicKey),
      rawPublicKey(publicKey).toString("base64"),
      privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    ],
  );
  // Another process may have won the race; everyone signs with the one that was stored.
  const stored = await readGeneratedKey(sql);
  if (!stored) throw new KeelError("internal", "the audit signing key was not stored");
  return stored;
}

/** Every public key registered for this log, by key id (recomputed from the key, never read from the row). */
export async function readAuditKeys(sql: SqlClient): Promise<Map<string, KeyObject>> {
  const { rows } = await sql.query<{ public_key: string }>(
    "SELECT public_key FROM keel_audit_keys ORDER BY created_at",
  );
  const keys = new Map<string, KeyObject>();
  for (const row of rows) {
    const key = publicKeyFromRaw(row.public_key);
    keys.set(auditKeyId(key), key);
  }
  return keys;
}

/** The key Keel generated and keeps in the store, or null when there is none (nothing is generated here). */
export async function readGeneratedKey(sql: SqlClient): Promise<AuditSigner | null> {
  const { rows } = await sql.query<{ private_pkcs8: string }>(
    "SELECT private_pkcs8 FROM keel_audit_keys WHERE private_pkcs8 IS NOT NULL",
  );
  if (!rows[0]) return null;
  const privateKey = createPrivateKey(rows[0].private_pkcs8);
  const publicKey = createPublicKey(privateKey);
  return { keyId: auditKeyId(publicKey), privateKey, publicKey };
}
