import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { KeelError } from "../errors/index.ts";
import {
  type ApiKeyStore,
  createApiKeyVerifier,
  createSqlApiKeyStore,
  validateTenant,
} from "../governance/index.ts";
import type { Store } from "../store/index.ts";
import type { ControlPlaneAuth } from "./authorize-request.ts";
import { createKeyRateLimiter } from "./key-rate-limiter.ts";

/** How the control plane runs: with API keys (`auth`), or in development mode (`auth` null, loopback only). */
export type ControlPlane = { auth: ControlPlaneAuth | null; keys: ApiKeyStore };

/** True for addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return bare === "localhost" || bare === "::1" || /^127(\.\d{1,3}){3}$/.test(bare);
}

/**
 * Decide authentication before the server binds. A bootstrap admin key comes from `KEEL_BOOTSTRAP_ADMIN_KEY_FILE`
 * when no key exists yet (the file's key is imported; an absent file is created, mode 0600, with a new key). With
 * any live key, every request needs one. With none, the server may only listen on loopback, as the local
 * developer, and says so loudly; any other address refuses to start.
 */
export async function configureControlPlane(options: {
  store: Store;
  env: Readonly<Record<string, string | undefined>>;
  host: string;
  log: (message: string) => void;
}): Promise<ControlPlane> {
  const { env, log } = options;
  const keys = createSqlApiKeyStore(options.store.sql);
  const platformTenant = validateTenant(env.KEEL_PLATFORM_TENANT ?? "default", "KEEL_PLATFORM_TENANT");
  const bootstrapFile = env.KEEL_BOOTSTRAP_ADMIN_KEY_FILE;
  if (bootstrapFile && (await keys.countLive()) === 0) {
    await bootstrapAdminKey({ keys, file: bootstrapFile, tenant: platformTenant, log });
  }
  if ((await keys.countLive()) === 0) {
    if (!isLoopbackHost(options.host)) {
      throw new KeelError(
        "invalid_request",
        `refusing to listen on ${options.host} without authentication: no API key exists. Create an admin key first ` +
          "(keel keys create --tenant default --role admin, or KEEL_BOOTSTRAP_ADMIN_KEY_FILE), or listen on 127.0.0.1",
      );
    }
    for (const line of [
      "⚠ ──────────────────────────────────────────────────────────────────────────────",
      "⚠ DEVELOPMENT MODE: no API keys exist, so nothing is authenticated. Every request acts as",
      "⚠ local-developer, admin of tenant default. Listening on loopback only; create a key with",
      "⚠ `keel keys create --tenant default --role admin` and restart to require keys.",
      "⚠ ──────────────────────────────────────────────────────────────────────────────",
    ])
      log(line);
    return { auth: null, keys };
  }
  return {
    keys,
    auth: {
      verifier: createApiKeyVerifier({ store: keys }),
      platformTenant,
      rateLimiter: createKeyRateLimiter({
        perMinute: positiveNumber(env, "KEEL_RATE_LIMIT_PER_MINUTE", 600),
        burst: positiveNumber(env, "KEEL_RATE_LIMIT_BURST", 100),
      }),
    },
  };
}

async function bootstrapAdminKey(options: {
  keys: ApiKeyStore;
  file: string;
  tenant: string;
  log: (message: string) => void;
}): Promise<void> {
  const { keys, file, tenant } = options;
  const base = {
    tenant,
    roles: ["admin"],
    name: "bootstrap-admin",
    createdBy: "KEEL_BOOTSTRAP_ADMIN_KEY_FILE",
  };
  if (existsSync(file)) {
    const token = readFileSync(file, "utf8").trim();
    const { key } = await keys.create({ ...base, token });
    options.log(
      `control plane: imported the bootstrap admin key ${key.keyId} (tenant ${tenant}) from ${file}`,
    );
    return;
  }
  const { key, token } = await keys.create(base);
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: "wx" });
  options.log(
    `control plane: created the bootstrap admin key ${key.keyId} (tenant ${tenant}); its secret is in ${file}`,
  );
}

function positiveNumber(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: number,
): number {
  const text = env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    throw new KeelError("invalid_request", `${name} must be a positive number, not "${text}"`, {
      issues: [{ path: name, message: "expected a positive number" }],
    });
  }
  return value;
}
