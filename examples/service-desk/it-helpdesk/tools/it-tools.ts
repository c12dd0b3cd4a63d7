import { z } from "zod";
import { KeelError } from "../../../../src/errors/keel-error.ts";
import type { SqlClient } from "../../../../src/store/store.ts";
import { defineTool, type Tool } from "../../../../src/tools/tool.ts";
import { type ItDirectory, readItDirectory, Username } from "./it-directory.ts";

/** Names the advisory lock that serialises setups; hashed to a lock id. */
const SETUP_LOCK = "keel:examples:it-helpdesk:unlocks";

/** The helpdesk's own table: account unlocks made, one row per idempotency key. Idempotent; runs on every start. */
export async function setupItHelpdesk(sql: SqlClient): Promise<void> {
  await sql.transaction(async (transaction) => {
    await transaction.query("SELECT pg_advisory_xact_lock(hashtext($1))", [SETUP_LOCK]);
    await transaction.query("CREATE SCHEMA IF NOT EXISTS it_helpdesk");
    await transaction.query(`CREATE TABLE IF NOT EXISTS it_helpdesk.unlocks (
      id serial PRIMARY KEY,
      idempotency_key text NOT NULL UNIQUE,
      username text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now())`);
  });
}

const AccountOutput = z.strictObject({
  found: z.boolean(),
  username: z.string(),
  name: z.string().nullable(),
  status: z.enum(["active", "locked", "disabled", "unknown"]),
  privileged: z.boolean(),
  summary: z.string(),
});

/** `lookup_account`: a work account's status (active, locked or disabled) and whether it is privileged. */
function createLookupAccountTool(directory: ItDirectory) {
  return defineTool({
    name: "lookup_account",
    description:
      "Look up a work account (first.last): its owner, status (active, locked, disabled) and whether it is privileged.",
    input: z.strictObject({ username: Username }),
    output: AccountOutput,
    // The account owner's name is personal data.
    dataClasses: ["internal", "pii"],
    async execute({ username }) {
      const account = directory.accounts.find((candidate) => candidate.username === username);
      if (!account) {
        return {
          found: false,
          username,
          name: null,
          status: "unknown" as const,
          privileged: false,
          summary: `There is no work account named ${username}; check the spelling (first.last).`,
        };
      }
      const summary = {
        active: `The account ${username} is active and not locked; if the password is forgotten, reset it at id.larkspur.example/reset.`,
        locked: `The account ${username} is locked.`,
        disabled: `The account ${username} is disabled; only an HR request re-enables it.`,
      }[account.status];
      return {
        found: true,
        username,
        name: account.name,
        status: account.status,
        privileged: account.privileged,
        summary,
      };
    },
  });
}

const UnlockOutput = z.strictObject({
  unlockId: z.number().int(),
  username: z.string(),
  message: z.string(),
});

/**
 * `unlock_account`: unlock a locked work account. `privileged` must say truly whether it is an admin account (the
 * governor holds those for a person); at most one unlock per idempotency key.
 */
function createUnlockAccountTool(options: { sql: SqlClient; directory: ItDirectory }) {
  const { sql, directory } = options;
  const message = (username: string) =>
    `I unlocked ${username}. Sign in within 15 minutes; after five wrong passwords it locks again.`;
  const find = async (idempotencyKey: string, username: string) => {
    const row = (
      await sql.query<{ id: number; username: string }>(
        "SELECT id, username FROM it_helpdesk.unlocks WHERE idempotency_key = $1",
        [idempotencyKey],
      )
    ).rows[0];
    if (row && row.username !== username) {
      throw new KeelError(
        "conflict",
        `Idempotency key ${idempotencyKey} was already used to unlock ${row.username}.`,
      );
    }
    return row;
  };
  return defineTool({
    name: "unlock_account",
    description:
      "Unlock a locked work account. Say truly whether it is privileged (an admin account); disabled accounts are refused.",
    input: z.strictObject({ username: Username, privileged: z.boolean() }),
    output: UnlockOutput,
    sideEffect: true,
    dataClasses: ["internal"],
    async execute(input, context) {
      context.signal.throwIfAborted();
      const account = directory.accounts.find((candidate) => candidate.username === input.username);
      if (!account) throw new KeelError("not_found", `There is no work account named ${input.username}.`);
      // The governor decides on the arguments: a call that understates the account's privilege is refused here.
      if (account.privileged !== input.privileged) {
        throw new KeelError(
          "invalid_request",
          `The account ${input.username} is ${account.privileged ? "" : "not "}privileged; privileged must say so.`,
        );
      }
      const earlier = await find(context.idempotencyKey, input.username);
      if (earlier)
        return { unlockId: earlier.id, username: earlier.username, message: message(earlier.username) };
      if (account.status !== "locked") {
        throw new KeelError("conflict", `The account ${input.username} is ${account.status}, not locked.`);
      }
      const row =
        (
          await sql.query<{ id: number; username: string }>(
            `INSERT INTO it_helpdesk.unlocks (idempotency_key, username) VALUES ($1, $2)
           ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, username`,
            [context.idempotencyKey, input.username],
          )
        ).rows[0] ?? (await find(context.idempotencyKey, input.username));
      if (!row) throw new KeelError("internal", "The unlock was neither written nor found; try again.");
      return { unlockId: row.id, username: row.username, message: message(row.username) };
    },
    async reconcile(input, context) {
      const row = await find(context.idempotencyKey, input.username);
      return row
        ? {
            applied: true,
            result: { unlockId: row.id, username: row.username, message: message(row.username) },
          }
        : { applied: false };
    },
  });
}

const DeviceOutput = z.strictObject({ found: z.boolean(), assetTag: z.string(), summary: z.string() });

/** `lookup_device`: a laptop by its asset tag: model, who has it and its status. */
function createLookupDeviceTool(directory: ItDirectory) {
  return defineTool({
    name: "lookup_device",
    description: "Look up a laptop by its asset tag (LT-1234): model, status and who it is assigned to.",
    input: z.strictObject({
      assetTag: z
        .string()
        .trim()
        .toUpperCase()
        .regex(/^LT-\d{4}$/, "expected an asset tag such as LT-2041"),
    }),
    output: DeviceOutput,
    dataClasses: ["internal"],
    async execute({ assetTag }) {
      const device = directory.devices.find((candidate) => candidate.assetTag === assetTag);
      if (!device) return { found: false, assetTag, summary: `No laptop has the asset tag ${assetTag}.` };
      const status = {
        "in-use": "in use",
        "in-repair": "in repair",
        lost: "reported lost",
        "in-stock": "in stock",
      }[device.status];
      const holder = device.assignedTo ? `assigned to ${device.assignedTo}` : "not assigned";
      return {
        found: true,
        assetTag,
        summary: `Laptop ${assetTag} (${device.model}) is ${status}, ${holder}: ${device.note}.`,
      };
    },
  });
}

const ArticlesOutput = z.strictObject({
  articles: z.array(z.strictObject({ slug: z.string(), title: z.string(), body: z.string() })),
});

/** `search_it_kb`: the IT help pages whose keywords the question mentions, best first (at most 3). */
function createSearchItKbTool(directory: ItDirectory) {
  return defineTool({
    name: "search_it_kb",
    description: "Search the IT help pages (VPN, Wi-Fi, printing, MFA, email, monitors) for a question.",
    input: z.strictObject({ query: z.string().trim().min(2).max(500) }),
    output: ArticlesOutput,
    dataClasses: ["public"],
    async execute({ query }) {
      const text = query.toLowerCase();
      const scored = directory.articles
        .map((article) => ({
          article,
          score: article.keywords.filter((keyword) => new RegExp(`\\b${keyword}\\b`, "i").test(text)).length,
        }))
        .filter((entry) => entry.score > 0)
        .sort((left, right) => right.score - left.score)
        .slice(0, 3);
      return {
        articles: scored.map(({ article }) => ({
          slug: article.slug,
          title: article.title,
          body: article.body,
        })),
      };
    },
  });
}

/** The IT helpdesk agent's tools: the bundled directory, and its unlocks table in the store. */
export function createItTools(options: { sql: SqlClient }): Tool[] {
  const directory = readItDirectory();
  return [
    createLookupAccountTool(directory),
    createUnlockAccountTool({ sql: options.sql, directory }),
    createLookupDeviceTool(directory),
    createSearchItKbTool(directory),
  ];
}
