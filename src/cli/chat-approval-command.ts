import type { ApiClient } from "./api-client.ts";
import { decideApproval } from "./approvals-command.ts";
import type { CliIo } from "./cli-io.ts";
import type { HeldApproval } from "./follow-chat-run.ts";

/**
 * `/approve [id] [comment]` and `/reject [id] <reason>` in a chat: decide a held request as `keel approvals` does,
 * naming who decides with `--as`/`--roles` (or KEEL_SUBJECT, KEEL_ROLES, or the API key). The id may be left out
 * when one request is held. A mistake is said in one line and the chat goes on. Returns the id of the request the
 * decision settled (not one still waiting for another approver), or null.
 */
export async function decideInChat(options: {
  client: ApiClient;
  io: CliIo;
  decision: "approve" | "reject";
  words: readonly string[];
  held: ReadonlyMap<string, HeldApproval>;
  as?: string;
  roles?: string;
}): Promise<string | null> {
  const { client, io, decision, held } = options;
  const words = [...options.words];
  const explicit = words[0]?.startsWith("apr_") ? words.shift() : undefined;
  const id = explicit ?? (held.size === 1 ? [...held.keys()][0] : undefined);
  const comment = words.join(" ");
  if (!id) {
    io.err(
      held.size === 0
        ? `keel: nothing is held for approval here; /${decision} <id> decides a request by its id`
        : `keel: ${held.size} requests are held (${[...held.keys()].join(", ")}): name one, /${decision} <id>`,
    );
    return null;
  }
  if (decision === "reject" && comment.length === 0) {
    io.err(`keel: say why: /reject ${id} <reason>`);
    return null;
  }
  const subject = options.as || io.env.KEEL_SUBJECT || undefined;
  const roles = options.roles || io.env.KEEL_ROLES || undefined;
  if (!subject && !client.authenticated) {
    io.err(
      "keel: say who decides: start the chat with --as <you> --roles <role> (or set KEEL_SUBJECT and KEEL_ROLES)",
    );
    return null;
  }
  try {
    await decideApproval(client, io, decision, id, {
      ...(subject === undefined ? {} : { as: subject }),
      ...(roles === undefined ? {} : { roles }),
      ...(comment.length === 0 ? {} : { comment }),
    });
    const approval = await client.call("getApproval", { params: { id } });
    return approval.status === "pending" ? null : id;
  } catch (error) {
    io.err(`keel: ${error instanceof Error ? error.message : String(error)}`);
    return null;
  }
}
