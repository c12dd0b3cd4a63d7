import type { Hono } from "hono";
import { API_ROUTES } from "../api/index.ts";
import { KeelError } from "../errors/index.ts";
import type { ApiKeyRecord, ApiKeyStore } from "../governance/index.ts";
import { registerRoute } from "./register-route.ts";
import { principalOf } from "./request-principal.ts";

/**
 * API keys over HTTP, for admins of a tenant: `GET /v1/keys` (never a secret), `POST /v1/keys` (the secret is in
 * this one response only) and `DELETE /v1/keys/{id}`. A key is always created in the caller's own tenant.
 */
export function registerKeyRoutes(
  app: Hono,
  options: { keys: ApiKeyStore; forget?: (keyId: string) => void },
): void {
  const { keys } = options;
  registerRoute(app, API_ROUTES.listKeys, async (_, context) =>
    context.json({ keys: (await keys.list({ tenant: principalOf(context).tenant })).map(presentKey) }),
  );
  registerRoute(app, API_ROUTES.createKey, async ({ body }, context) => {
    const principal = principalOf(context);
    const { key, token } = await keys.create({
      tenant: principal.tenant,
      roles: body.roles,
      ...(body.name === undefined ? {} : { name: body.name }),
      createdBy: principal.subject,
    });
    return context.json({ ...presentKey(key), secret: token }, 201);
  });
  registerRoute(app, API_ROUTES.revokeKey, async ({ params }, context) => {
    const revoked = await keys.revoke(params.id, { tenant: principalOf(context).tenant });
    if (!revoked) throw new KeelError("not_found", `no live API key "${params.id}"`);
    options.forget?.(revoked.keyId);
    return context.json(presentKey(revoked));
  });
}

/** A key as the API shows it: no secret, no hash. */
export function presentKey(key: ApiKeyRecord) {
  return {
    id: key.keyId,
    tenant: key.tenant,
    roles: key.roles,
    name: key.name,
    createdAt: key.createdAt.toISOString(),
    createdBy: key.createdBy,
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    revokedAt: key.revokedAt?.toISOString() ?? null,
  };
}
