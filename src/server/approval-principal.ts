import type { Context } from "hono";
import type { Principal } from "../journal/events.ts";

/** Who is deciding, from the request; null when the request does not say. */
export type IdentifyApprover = (context: Context) => Principal | null;

/**
 * Pre-authentication stand-in: the approver names themself with `X-Keel-Subject`, `X-Keel-Roles` (comma
 * separated) and optionally `X-Keel-Tenant`. Anyone who can reach the API can claim any identity, exactly as
 * anyone can use the rest of this build's API; control-plane authentication (API keys) replaces this function
 * through `AppOptions.identifyApprover` without touching the approval rules, which are checked on the principal
 * it returns. See docs/approvals.md.
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
