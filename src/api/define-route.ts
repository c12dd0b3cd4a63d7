import type { z } from "zod";
import type { ControlPlaneRole } from "../governance/index.ts";

/** The HTTP methods the API uses. */
export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";

/** What a path parameter (or query field) names, so the caller's tenant can be checked against its owner's. */
export type OwnedResource = "agent" | "run" | "approval" | "feedback" | "tenant" | "key" | "session";

/** The media types a route answers with on success. */
export type ResponseMediaType =
  | "application/json"
  | "text/plain"
  | "text/event-stream"
  | "text/html"
  | "text/javascript"
  | "text/css";

/**
 * One route of the HTTP API, declared once: who may call it, which tenant's data it reaches, what it takes and
 * answers, in words for the docs. The server registers its handler from it and the authorization gate and the
 * input layer read it (src/server/register-route.ts); the OpenAPI document, the docs' route tables and the typed
 * client (src/client/) are made from it. Nothing here imports server code, so the client can carry it.
 */
export type RouteDeclaration = {
  method: HttpMethod;
  /** The Hono path pattern, exactly as the route is registered (`:name` for a parameter). */
  path: string;
  /** `public`: no key needed. Otherwise the roles allowed besides `admin`, which may do everything in its tenant. */
  roles: "public" | readonly ControlPlaneRole[];
  /**
   * Platform routes see or change every tenant (Prometheus metrics, the global kill switch): only keys of the
   * platform tenant may call them, and only with one of the roles. Every other route answers for the caller's
   * tenant only.
   */
  platform?: boolean;
  /** Path parameters (or `?field`) naming a resource that must belong to the caller's tenant, else 404. */
  owns?: Readonly<Record<string, OwnedResource>>;
  /**
   * The query fields the route accepts, each optional unless its schema says otherwise; any other is a 400. Each
   * schema bounds its value to what the handler and the column it reaches can hold.
   */
  query?: z.ZodObject;
  /** The JSON body the route reads; a route without one ignores any body sent. */
  body?: z.ZodType;
  /** What a successful call answers (JSON unless `produces` says otherwise). */
  response: z.ZodType;
  /** The status of a successful call (default 200). */
  status?: number;
  /** The media type of a successful answer (default application/json). */
  produces?: ResponseMediaType;
  /** The largest body the route reads, in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  /** One line for the route × role table and the OpenAPI summary. */
  summary: string;
  /** What the route does, for docs/api.md and the OpenAPI description (default: the summary). */
  description?: string;
  /** What a caller gets back, for docs/api.md (default: the status). */
  success?: string;
};

/** A declaration with its name, which is the key it is declared under and the OpenAPI operationId. */
export type ApiRoute = RouteDeclaration & { name: string };

/** The names of a path pattern's parameters: `"/v1/runs/:id/trace"` → `"id"`. */
export type PathParamNames<Path extends string> = Path extends `${string}:${infer Name}/${infer Rest}`
  ? Name | PathParamNames<`/${Rest}`>
  : Path extends `${string}:${infer Name}`
    ? Name
    : never;

/** A route's path parameters, as strings. */
export type RouteParams<Route extends RouteDeclaration> = { [Name in PathParamNames<Route["path"]>]: string };

/** A route's query fields as the caller sends them. */
export type RouteQueryInput<Route extends RouteDeclaration> = Route["query"] extends z.ZodObject
  ? z.input<Route["query"]>
  : Record<string, never>;

/** A route's query fields as the handler reads them, validated. */
export type RouteQuery<Route extends RouteDeclaration> = Route["query"] extends z.ZodObject
  ? z.output<Route["query"]>
  : Record<string, never>;

/** A route's body as the caller sends it. */
export type RouteBodyInput<Route extends RouteDeclaration> = Route["body"] extends z.ZodType
  ? z.input<Route["body"]>
  : undefined;

/** A route's body as the handler reads it, validated. */
export type RouteBody<Route extends RouteDeclaration> = Route["body"] extends z.ZodType
  ? z.output<Route["body"]>
  : undefined;

/** What a successful call answers. */
export type RouteResponse<Route extends RouteDeclaration> = z.output<Route["response"]>;

/** Declare routes under their names; each gets its name as a field. */
export function defineRoutes<const Routes extends Record<string, RouteDeclaration>>(
  routes: Routes,
): { [Name in keyof Routes]: Routes[Name] & { name: Name & string } } {
  return Object.fromEntries(Object.entries(routes).map(([name, route]) => [name, { ...route, name }])) as {
    [Name in keyof Routes]: Routes[Name] & { name: Name & string };
  };
}

/** The names of a path pattern's parameters, in order. */
export function pathParamNames(path: string): string[] {
  return [...path.matchAll(/:(\w+)/g)].map((match) => match[1]!);
}
