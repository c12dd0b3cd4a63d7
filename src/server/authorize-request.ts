import type { Context, MiddlewareHandler } from "hono";
import type { ApiRoute, OwnedResource } from "../api/index.ts";
import { KeelError } from "../errors/index.ts";
import type { ApiKeyVerifier } from "../governance/index.ts";
import type { Principal } from "../journal/index.ts";
import type { KeyRateLimiter } from "./key-rate-limiter.ts";
import { matchRouteAccess } from "./match-route-access.ts";
import "./request-principal.ts";
import type { ResourceTenant } from "./resource-tenant.ts";

/** How the control plane authenticates: API keys, which tenant is the platform's, and the per-key rate limit. */
export type ControlPlaneAuth = {
  verifier: ApiKeyVerifier;
  /** Keys of this tenant may call platform routes (metrics of every tenant, the global kill switch). */
  platformTenant: string;
  rateLimiter: KeyRateLimiter;
};

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
const LABELS: Record<OwnedResource, string> = {
  agent: "agent named",
  run: "run",
  approval: "approval request",
  feedback: "feedback",
  tenant: "tenant",
  key: "API key",
  session: "session",
};

/**
 * The one gate in front of every route: find the route's declaration (src/api/routes.ts; an undeclared route
 * answers 404), establish who calls (an API key, or the local developer when no auth is configured), apply the key's rate limit, the route's
 * roles, the platform restriction and tenant ownership (another tenant's resource answers 404, as if it did not
 * exist). The input layer works on both sides of it: headers, parameters and query fields are checked before it
 * (validate-input.ts), the body after it, so that only a caller let through costs a read (validate-json-body.ts).
 * Handlers read the caller with `principalOf`.
 */
export function authorizeRequests(options: {
  /** The route declarations: who may call each route and what it reaches. */
  table: readonly ApiRoute[];
  /** Null: development mode, every request is `devPrincipal`. */
  auth: ControlPlaneAuth | null;
  devPrincipal: Principal;
  resourceTenant: ResourceTenant;
}): MiddlewareHandler {
  const { table, auth, devPrincipal, resourceTenant } = options;
  const platformTenant = auth?.platformTenant ?? devPrincipal.tenant;
  return async (context, next) => {
    const matched = context.get("route") ?? matchRouteAccess(table, context.req.method, context.req.path);
    if (!matched) throw new KeelError("not_found", `no route ${context.req.method} ${context.req.path}`);
    const { route: access, params } = matched;
    if (access.roles === "public") return await next();

    const caller = await authenticate(context, auth, devPrincipal);
    if (auth && caller.keyId) {
      const verdict = auth.rateLimiter.take(caller.keyId);
      if (verdict.retryAfterMs > 0) {
        context.header("retry-after", String(Math.max(1, Math.ceil(verdict.retryAfterMs / 1_000))));
        throw new KeelError(
          "rate_limited",
          "too many requests for this API key; retry after the Retry-After delay",
        );
      }
    }
    const { principal } = caller;
    const allowed = access.roles;
    if (!principal.roles.some((role) => role === "admin" || (allowed as readonly string[]).includes(role))) {
      throw new KeelError(
        "forbidden",
        `${access.method} ${access.path} needs one of the roles ${["admin", ...allowed].join(", ")}`,
      );
    }
    if (access.platform && principal.tenant !== platformTenant) {
      throw new KeelError(
        "forbidden",
        `${access.method} ${access.path} spans every tenant: only keys of the platform tenant may call it`,
      );
    }
    for (const [field, kind] of Object.entries(access.owns ?? {})) {
      const id = field.startsWith("?") ? context.req.query(field.slice(1)) : params[field];
      if (id === undefined) continue;
      const owner =
        kind === "tenant"
          ? principal.tenant === platformTenant
            ? id
            : id === principal.tenant
              ? id
              : null
          : await resourceTenant(kind, id, context);
      if (owner === null || (kind !== "tenant" && owner !== principal.tenant)) {
        throw new KeelError("not_found", `no ${LABELS[kind]} "${id}"`);
      }
    }
    context.set("principal", principal);
    context.set("apiKeyId", caller.keyId);
    context.header("cache-control", "no-store");
    return await next();
  };
}

async function authenticate(
  context: Context,
  auth: ControlPlaneAuth | null,
  devPrincipal: Principal,
): Promise<{ principal: Principal; keyId: string | undefined }> {
  if (!auth) return { principal: devPrincipal, keyId: undefined };
  const header = context.req.header("authorization");
  const token = header === undefined ? undefined : BEARER.exec(header)?.[1];
  if (!token) {
    context.header("www-authenticate", 'Bearer realm="keel"');
    throw new KeelError("unauthorized", "send an API key as Authorization: Bearer keel_…");
  }
  const key = await auth.verifier.verify(token);
  if (!key) {
    context.header("www-authenticate", 'Bearer realm="keel", error="invalid_token"');
    throw new KeelError("unauthorized", "the API key is not valid or has been revoked");
  }
  return { principal: { subject: key.name, tenant: key.tenant, roles: key.roles }, keyId: key.keyId };
}
