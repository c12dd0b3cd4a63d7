import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { KeelError } from "../errors/index.ts";
import { createPayloadSealer, type PayloadSealer } from "../guards/index.ts";
import type { SqlClient } from "../store/index.ts";
import { createSqlSealedArgumentsStore, type SealedArgumentsStore } from "../store/index.ts";

/** What a worker needs to seal the arguments it masks in the journal. */
export type Sealing = { sealer: PayloadSealer; store: SealedArgumentsStore };

/**
 * The key that seals masked tool-call arguments (docs/security.md): KEEL_SECRET_KEY (32 bytes, as 64 hex digits
 * or base64) when set; else, for the embedded store, a key file created once with mode 0600 beside the data;
 * else none — on a shared PostgreSQL every process must hold the same key, so Keel does not invent one, and a
 * held call whose arguments were masked is then refused after a restart rather than run with placeholders.
 */
export async function sealingFromEnv(options: {
  sql: SqlClient;
  env: Readonly<Record<string, string | undefined>>;
  keyFile?: string | undefined;
  log: (message: string) => void;
}): Promise<Sealing | undefined> {
  const configured = options.env.KEEL_SECRET_KEY;
  let key: Buffer | undefined;
  if (configured !== undefined && configured !== "") {
    key = decodeKey(configured, "KEEL_SECRET_KEY");
  } else if (options.keyFile) {
    key = await readOrCreateKeyFile(options.keyFile);
  } else {
    options.log(
      "KEEL_SECRET_KEY is not set: arguments masked in the journal are not sealed, so a held call that carried a secret is refused after a restart",
    );
    return undefined;
  }
  return { sealer: createPayloadSealer(key), store: createSqlSealedArgumentsStore(options.sql) };
}

function decodeKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed)
    ? Buffer.from(trimmed, "hex")
    : Buffer.from(trimmed, "base64");
  if (key.byteLength !== 32) {
    throw new KeelError("invalid_request", `${source} must hold 32 bytes, as 64 hex digits or base64`, {
      issues: [{ path: source, message: `decodes to ${key.byteLength} bytes, expected 32` }],
    });
  }
  return key;
}

async function readOrCreateKeyFile(file: string): Promise<Buffer> {
  try {
    return decodeKey(await readFile(file, "utf8"), file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const key = randomBytes(32);
  try {
    // `wx`: two processes starting at once cannot both write a key; the loser reads the winner's.
    await writeFile(file, `${key.toString("hex")}\n`, { mode: 0o600, flag: "wx" });
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST")
      return decodeKey(await readFile(file, "utf8"), file);
    throw error;
  }
}
