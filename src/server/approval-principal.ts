import type { Context } from "hono";
import type { Principal } from "../journal/index.ts";

/** Who is deciding, from the request; null when the request does not say. */
export type IdentifyApprover = (context: Context) => Principal | null;

/**
 * Development mode only (no API keys, loopback only): the approver names themself with `X-Keel-Subject`,
 * `X-Keel-Roles` (comma separated) and optionally `X-Keel-Tenant`. With API keys the key's principal decides and
 * these headers are ignored (create-app.ts). See docs/approvals.md.
 */
export const approverFromHeaders: IdentifyApprover = (context) => {
  const subject = context.req.header("x-keel-subject")?.trim();
  if (!subject) return null;
  const roles = (context.req.header("x-keel-roles") ?? "")
    .split(",")
    .map((role) => role.trim())
    .filter((role) => role.length > 0);
  return { subject, tenant: context.req.header("x-keel-tenant")?.trim() || "default", roles };
};
