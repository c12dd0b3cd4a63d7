import type { z } from "zod";
import {
  API_ROUTES,
  type ApiRoute,
  type PathParamNames,
  type RouteName,
  type RouteParams,
  type RouteResponse,
} from "../api/index.ts";
import { ERROR_CODES, type ErrorCode, KeelError } from "../errors/index.ts";

export type { RouteName } from "../api/index.ts";
export { KeelError } from "../errors/index.ts";

/** The declaration of a named route. */
export type Route<Name extends RouteName> = (typeof API_ROUTES)[Name];

/** What a successful call of a route answers: JSON as its declaration describes it, or text. */
export type Answer<Name extends RouteName> = RouteResponse<Route<Name>>;

type ParamsPart<R extends ApiRoute> = [PathParamNames<R["path"]>] extends [never]
  ? { params?: undefined }
  : { params: RouteParams<R> };
type QueryPart<R extends ApiRoute> = R["query"] extends z.ZodObject
  ? Record<string, never> extends z.input<R["query"]>
    ? { query?: z.input<R["query"]> | undefined }
    : { query: z.input<R["query"]> }
  : { query?: undefined };
type BodyPart<R extends ApiRoute> = R["body"] extends z.ZodType
  ? undefined extends z.input<R["body"]>
    ? { body?: z.input<R["body"]> | undefined }
    : { body: z.input<R["body"]> }
  : { body?: undefined };

/** What a call of a route sends: its path parameters, query fields and body as declared, and any extra headers. */
export type CallInput<Name extends RouteName> = ParamsPart<Route<Name>> &
  QueryPart<Route<Name>> &
  BodyPart<Route<Name>> & { headers?: Record<string, string> | undefined };

type CallArguments<Name extends RouteName> =
  Record<string, never> extends CallInput<Name> ? [input?: CallInput<Name>] : [input: CallInput<Name>];

/** A client of one Keel server. */
export type KeelClient = {
  readonly baseUrl: string;
  /** True when requests carry an API key: the server then knows who calls. */
  readonly authenticated: boolean;
  /**
   * Call a route by its name (the OpenAPI operationId): `call("getRun", { params: { id } })`. Resolves to the
   * answer as the route declares it; an error answer rejects with a `KeelError` carrying the server's code,
   * message and field issues.
   */
  call<Name extends RouteName>(name: Name, ...input: CallArguments<Name>): Promise<Answer<Name>>;
  /** The path and query of a call, for requests made with `fetch` (event streams). */
  pathOf<Name extends RouteName>(name: Name, ...input: CallArguments<Name>): string;
  /** A raw request to the server, with the API key; for event streams. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
};

export type KeelClientOptions = {
  /** The server, e.g. `http://127.0.0.1:7420`. */
  baseUrl: string;
  /** An API key, sent as `Authorization: Bearer`; never part of an error message. */
  apiKey?: string;
  /** What to tell the user when the server cannot be reached (appended to the message). */
  unreachableHint?: string;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
  /**
   * Check every successful answer against its route's declared schema and reject one that does not match (an
   * `internal` KeelError naming the fields); for tests that hold the declarations to the server's answers.
   */
  checkAnswers?: boolean;
};

/**
 * A typed client of Keel's HTTP API: every route's parameters, query, body and answer are typed by its declaration
 * (src/api/routes.ts), so a call the server would refuse for its shape does not compile. Transport failures and
 * error answers become `KeelError`s.
 */
export function createKeelClient(options: KeelClientOptions): KeelClient {
  const base = options.baseUrl.replace(/\/+$/, "");
  const fetchImpl = options.fetch ?? fetch;
  const authorization: Record<string, string> = options.apiKey
    ? { authorization: `Bearer ${options.apiKey}` }
    : {};
  const send = async (path: string, init: RequestInit = {}): Promise<Response> => {
    try {
      return await fetchImpl(`${base}${path}`, {
        ...init,
        headers: { ...authorization, ...(init.headers as Record<string, string> | undefined) },
      });
    } catch (error) {
      const cause =
        error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
      const hint = options.unreachableHint ? `; ${options.unreachableHint}` : "";
      throw new KeelError("unavailable", `cannot reach the Keel server at ${base} (${cause})${hint}`);
    }
  };
  const pathOf = (name: RouteName, input: Partial<CallShape> = {}): string => {
    const route = routeOf(name);
    const params = (input.params ?? {}) as Record<string, string>;
    const path = route.path.replace(/:(\w+)/g, (_, param: string) => {
      const value = params[param];
      if (value === undefined)
        throw new KeelError("invalid_request", `${name} needs the path parameter ${param}`);
      return encodeURIComponent(value);
    });
    const query = new URLSearchParams();
    for (const [field, value] of Object.entries(input.query ?? {})) {
      if (value !== undefined && value !== null) query.set(field, String(value));
    }
    const search = query.toString();
    return search === "" ? path : `${path}?${search}`;
  };
  return {
    baseUrl: base,
    authenticated: options.apiKey !== undefined && options.apiKey !== "",
    fetch: send,
    pathOf: (name, ...input) => pathOf(name, input[0] as Partial<CallShape> | undefined),
    async call(name, ...args) {
      const route = routeOf(name);
      const input = (args[0] ?? {}) as Partial<CallShape>;
      const hasBody = input.body !== undefined;
      const response = await send(pathOf(name, input), {
        method: route.method,
        headers: {
          accept: route.produces ?? "application/json",
          ...(hasBody ? { "content-type": "application/json" } : {}),
          ...input.headers,
        },
        ...(hasBody ? { body: JSON.stringify(input.body) } : {}),
      });
      const text = await response.text();
      const json = route.produces === undefined || route.produces === "application/json" || !response.ok;
      let parsed: unknown = text;
      if (json) {
        try {
          parsed = text.length > 0 ? JSON.parse(text) : null;
        } catch {
          throw new KeelError(
            "internal",
            `the server answered ${response.status} with a body that is not JSON`,
          );
        }
      }
      if (!response.ok) throw errorFromBody(response.status, parsed);
      if (options.checkAnswers) {
        const checked = route.response.safeParse(parsed);
        if (!checked.success) {
          const issues = checked.error.issues.map((issue) => ({
            path: issue.path.join(".") || "(answer)",
            message: issue.message,
          }));
          throw new KeelError(
            "internal",
            `the answer to ${name} does not match its declaration: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ")}`,
            { issues },
          );
        }
      }
      return parsed as Answer<typeof name>;
    },
  };
}

/** The declaration of a route by name; a name the API does not have (from untyped code) is refused. */
function routeOf(name: string): ApiRoute {
  const route = Object.hasOwn(API_ROUTES, name) ? (API_ROUTES as Record<string, ApiRoute>)[name] : undefined;
  if (!route) throw new KeelError("invalid_request", `Keel's API has no route named "${name}"`);
  return route;
}

type CallShape = {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
  headers: Record<string, string>;
};

/** The KeelError an error answer stands for: its code when Keel knows it, its message and field issues. */
function errorFromBody(status: number, body: unknown): KeelError {
  const error = (
    body as { error?: { code?: string; message?: string; issues?: { path: string; message: string }[] } }
  )?.error;
  const code = error?.code && error.code in ERROR_CODES ? (error.code as ErrorCode) : "internal";
  return new KeelError(code, error?.message ?? `the server answered ${status}`, {
    issues: error?.issues ?? [],
  });
}
