import { KeelError } from "../errors/index.ts";

/** The control-plane roles an API key can carry; what each may do is said by the route declarations in src/api/routes.ts. */
export const CONTROL_PLANE_ROLES = [
  "admin",
  "deployer",
  "approver",
  "operator",
  "viewer",
  "invoker",
] as const;

/** One control-plane role. */
export type ControlPlaneRole = (typeof CONTROL_PLANE_ROLES)[number];

/** Extra roles a key may carry for approval rules (`approver:<agent>`, `approver:<team>`, a spec's own names). */
const APPROVAL_ROLE = /^[a-z][a-z0-9._-]{0,62}(:[a-z0-9][a-z0-9._@-]{0,126})?$/;

/** A tenant id: lowercase letters, digits, dots, dashes and underscores, starting with a letter or digit. */
const TENANT = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** True when the text is one of the six control-plane roles. */
export function isControlPlaneRole(role: string): role is ControlPlaneRole {
  return (CONTROL_PLANE_ROLES as readonly string[]).includes(role);
}

/**
 * Check the roles of a new key: at least one control-plane role, the rest approval roles such as
 * `approver:support`; duplicates are dropped. Throws a field-named invalid_request otherwise.
 */
export function validateKeyRoles(roles: readonly string[], field = "roles"): string[] {
  const unique = [...new Set(roles.map((role) => role.trim()).filter((role) => role.length > 0))];
  for (const role of unique) {
    if (!isControlPlaneRole(role) && !APPROVAL_ROLE.test(role)) {
      throw new KeelError("invalid_request", `${field}: "${role}" is not a role`, {
        issues: [
          {
            path: field,
            message: `expected ${CONTROL_PLANE_ROLES.join(", ")} or an approval role such as approver:support`,
          },
        ],
      });
    }
  }
  if (!unique.some(isControlPlaneRole)) {
    throw new KeelError(
      "invalid_request",
      `${field}: a key needs at least one of ${CONTROL_PLANE_ROLES.join(", ")}`,
      {
        issues: [{ path: field, message: `expected at least one of ${CONTROL_PLANE_ROLES.join(", ")}` }],
      },
    );
  }
  return unique;
}

/** Check a tenant id; throws a field-named invalid_request when it is not one. */
export function validateTenant(tenant: string, field = "tenant"): string {
  if (!TENANT.test(tenant)) {
    throw new KeelError("invalid_request", `${field}: "${tenant}" is not a tenant id`, {
      issues: [
        {
          path: field,
          message: "expected 1 to 63 lowercase letters, digits, dots, dashes or underscores",
        },
      ],
    });
  }
  return tenant;
}
