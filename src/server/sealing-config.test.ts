import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { isKeelError } from "../errors/keel-error.ts";
import type { SqlClient } from "../store/store.ts";
import { sealingFromEnv } from "./sealing-config.ts";

const directory = mkdtempSync(join(tmpdir(), "keel-sealing-"));
after(() => rmSync(directory, { recursive: true, force: true }));
// The SQL client is only handed on to the sealed-arguments store; these tests never reach it.
const sql = {} as SqlClient;
const silent = () => undefined;

describe("sealingFromEnv", () => {
  it("creates the embedded store's key file once, readable by its owner only, and reuses it", async () => {
    const keyFile = join(directory, "secret.key");
    const first = await sealingFromEnv({ sql, env: {}, keyFile, log: silent });
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    const second = await sealingFromEnv({ sql, env: {}, keyFile, log: silent });
    const sealed = first!.sealer.seal("original", "context");
    assert.equal(second!.sealer.open(sealed, "context"), "original");
  });

  it("prefers KEEL_SECRET_KEY, in hex or base64", async () => {
    const hex = "11".repeat(32);
    const fromHex = await sealingFromEnv({ sql, env: { KEEL_SECRET_KEY: hex }, log: silent });
    const fromBase64 = await sealingFromEnv({
      sql,
      env: { KEEL_SECRET_KEY: Buffer.from(hex, "hex").toString("base64") },
      log: silent,
    });
    assert.equal(fromHex!.sealer.keyId, fromBase64!.sealer.keyId);
  });

  it("refuses a key of the wrong length, naming the variable", async () => {
    await assert.rejects(
      sealingFromEnv({ sql, env: { KEEL_SECRET_KEY: "too-short" }, log: silent }),
      (error) => isKeelError(error, "invalid_request") && error.issues[0]?.path === "KEEL_SECRET_KEY",
    );
  });

  it("seals nothing and says so when there is neither a key nor a key file", async () => {
    const lines: string[] = [];
    assert.equal(await sealingFromEnv({ sql, env: {}, log: (line) => lines.push(line) }), undefined);
    assert.match(lines[0] ?? "", /KEEL_SECRET_KEY is not set/);
  });
});
