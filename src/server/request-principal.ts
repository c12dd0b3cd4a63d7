import type { Context } from "hono";
import { KeelError } from "../errors/index.ts";
import type { Principal } from "../journal/index.ts";

declare module "hono" {
  interface ContextVariableMap {
    /** Who is calling: the API key's name, tenant and roles, or the local developer in development mode. */
    principal: Principal;
    /** The API key that authenticated the request; absent in development mode. */
    apiKeyId: string | undefined;
  }
}

/** The caller the authorization middleware established for this request. */
export function principalOf(context: Context): Principal {
  const principal = context.get("principal");
  if (!principal)
    throw new KeelError("internal", "the request reached a route without passing authorization");
  return principal;
}
