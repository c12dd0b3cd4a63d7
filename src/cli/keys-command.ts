import { parseArgs } from "node:util";
import { createSqlApiKeyStore } from "../governance/index.ts";
import type { CliIo } from "./cli-io.ts";
import { openCliStore } from "./open-cli-store.ts";
import { reportCliError, usageError } from "./report-cli-error.ts";

/** Usage of `keel keys`, for `keel --help` and usage errors. */
export const KEYS_USAGE = `  keys create --tenant T --role R [--role R2 | --role R1,R2] [--name N] [--json]
                                   create an API key in the store (DATABASE_URL, else --data-dir); prints its secret once
  keys list [--tenant T] [--all] [--json]
                                   keys (never their secrets); --all includes revoked ones
  keys revoke <id> [--tenant T]    revoke a key: servers refuse it within 10 s`;

const OPTIONS = {
  tenant: { type: "string" },
  role: { type: "string", multiple: true },
  name: { type: "string" },
  all: { type: "boolean" },
  json: { type: "boolean" },
  "data-dir": { type: "string" },
} as const;

/**
 * `keel keys …` on the store itself, not through a server: the first (admin) key of a deployment is made this way,
 * before any key exists to call the API with. With the embedded store, stop `keel serve` first (it holds the data
 * directory); on PostgreSQL it works beside running servers.
 */
export async function keysCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    const [, sub, id, ...extra] = positionals;
    if (extra.length > 0) throw usageError(`unexpected arguments: ${extra.join(" ")}`, KEYS_USAGE);
    const dataDir = values["data-dir"] ?? io.env.KEEL_DATA_DIR ?? ".keel";
    // Only `create` may set up a store (the first admin key comes before the first `keel serve`); list and revoke
    // refuse a data directory with no store, rather than answering from a new, empty one.
    const run = async <T>(
      work: (keys: ReturnType<typeof createSqlApiKeyStore>) => Promise<T>,
    ): Promise<T> => {
      const opened = await openCliStore({ io, dataDir, create: sub === "create" });
      if (opened.created) io.err(`note: there was no Keel store in ${dataDir}; created one for this key`);
      try {
        return await work(createSqlApiKeyStore(opened.store.sql));
      } finally {
        await opened.close();
      }
    };
    switch (sub) {
      case "create": {
        if (!values.tenant || !values.role)
          throw usageError("keel keys create --tenant T --role R", KEYS_USAGE);
        const roles = values.role.flatMap((role) => role.split(","));
        const { key, token } = await run(
          async (keys) =>
            await keys.create({
              tenant: values.tenant!,
              roles,
              ...(values.name === undefined ? {} : { name: values.name }),
              createdBy: "keel keys create",
            }),
        );
        if (values.json) {
          io.out(
            JSON.stringify({
              id: key.keyId,
              tenant: key.tenant,
              roles: key.roles,
              name: key.name,
              secret: token,
            }),
          );
        } else {
          io.out(
            `created key ${key.keyId} "${key.name}" for tenant ${key.tenant} with roles ${key.roles.join(", ")}`,
          );
          io.out(
            "its secret, shown this once (send it as Authorization: Bearer …, or KEEL_API_KEY for the CLI):",
          );
          io.out(token);
        }
        return 0;
      }
      case "list": {
        const listed = await run(
          async (keys) =>
            await keys.list({
              ...(values.tenant === undefined ? {} : { tenant: values.tenant }),
              includeRevoked: values.all ?? false,
            }),
        );
        if (values.json) {
          io.out(JSON.stringify(listed, null, 2));
          return 0;
        }
        if (listed.length === 0) io.out("no keys: servers run in development mode on loopback only");
        for (const key of listed) {
          const used = key.lastUsedAt ? `last used ${key.lastUsedAt.toISOString()}` : "never used";
          const state = key.revokedAt ? `revoked ${key.revokedAt.toISOString()}` : used;
          io.out(`${key.keyId}  ${key.tenant}  ${key.roles.join(",")}  ${key.name}  (${state})`);
        }
        return 0;
      }
      case "revoke": {
        if (!id) throw usageError("keel keys revoke <id>", KEYS_USAGE);
        const revoked = await run(
          async (keys) => await keys.revoke(id, values.tenant === undefined ? {} : { tenant: values.tenant }),
        );
        if (!revoked) {
          io.err(`keel: no live key ${id}${values.tenant ? ` in tenant ${values.tenant}` : ""}`);
          return 1;
        }
        io.out(`revoked key ${revoked.keyId} (${revoked.name}); servers refuse it within 10 s`);
        return 0;
      }
      default:
        throw usageError(`unknown keys command "${sub ?? ""}"`, KEYS_USAGE);
    }
  } catch (error) {
    return reportCliError(error, io, KEYS_USAGE);
  }
}
