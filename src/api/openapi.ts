import { z } from "zod";
import { type ApiRoute, pathParamNames } from "./define-route.ts";
import { Identifier } from "./fields.ts";
import { API_ROUTE_LIST } from "./routes.ts";

type JsonObject = Record<string, unknown>;

/** Keel's error body, as every failing route answers it (docs/api.md, "Errors"). */
const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});

/**
 * The OpenAPI 3.1 document of the HTTP API, made from the route declarations: every route with its path parameters,
 * query fields, body and successful answer as JSON Schema (from the zod schemas), the API key as a bearer security
 * scheme, and each operation's roles and tenant scope (`x-keel-roles`, `x-keel-platform`, in its description too).
 * Public routes carry an empty security requirement.
 */
export function openApiDocument(
  options: { routes?: readonly ApiRoute[]; version?: string; serverUrl?: string } = {},
): JsonObject {
  const routes = options.routes ?? API_ROUTE_LIST;
  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:(\w+)/g, "{$1}");
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operationOf(route);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Keel",
      version: options.version ?? "0.1.0",
      description:
        "Keel's control plane: agents, runs and their journals, approvals, kill switches, policies, telemetry, the registry, API keys and the governed model endpoint. Send an API key as `Authorization: Bearer keel_<id>_<secret>`; each operation lists the roles that may call it (`admin` may call every one in its tenant).",
    },
    ...(options.serverUrl ? { servers: [{ url: options.serverUrl }] } : {}),
    security: [{ apiKey: [] }],
    paths,
    components: {
      securitySchemes: {
        apiKey: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "keel_<id>_<secret>",
          description: "A Keel API key (`keel keys create`); it belongs to one tenant and carries roles.",
        },
      },
      schemas: { Error: schemaOf(ErrorBody, "output") },
    },
  };
}

function operationOf(route: ApiRoute): JsonObject {
  const roles = route.roles === "public" ? "public" : ["admin", ...route.roles];
  const scope = route.platform
    ? "Platform route: only keys of the platform tenant may call it."
    : route.roles === "public"
      ? "Public: no key needed."
      : "Answers for the caller's tenant only; another tenant's resource is a 404.";
  const parameters = [
    ...pathParamNames(route.path).map((name) => ({
      name,
      in: "path",
      required: true,
      schema: schemaOf(Identifier, "input"),
    })),
    ...Object.entries(route.query?.shape ?? {}).map(([name, schema]) => ({
      name,
      in: "query",
      required: !(schema as z.ZodType).safeParse(undefined).success,
      schema: schemaOf(schema as z.ZodType, "input"),
    })),
  ];
  const media = route.produces ?? "application/json";
  const status = String(route.status ?? 200);
  return {
    operationId: route.name,
    summary: route.summary,
    description: `${plain(route.description ?? route.summary)}\n\nRoles: ${roles === "public" ? "public" : roles.join(", ")}. ${scope}`,
    tags: [tagOf(route.path)],
    "x-keel-roles": roles,
    "x-keel-platform": route.platform === true,
    ...(route.roles === "public" ? { security: [] } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body
      ? {
          requestBody: {
            required: !route.body.safeParse(undefined).success,
            content: { "application/json": { schema: schemaOf(route.body, "input") } },
          },
        }
      : {}),
    responses: {
      [status]: {
        description: route.success ? plain(route.success) : "success",
        content: { [media]: { schema: schemaOf(route.response, "output", `${route.name}.response`) } },
      },
      default: {
        description: "an error, as Keel's error body",
        content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
      },
    },
  };
}

/**
 * A zod schema as JSON Schema (2020-12, what OpenAPI 3.1 uses), without the `$schema` key. A recursive schema (a run
 * tree) refers to its own `$defs`; it gets an `$id` so those references resolve inside it, not against the document.
 */
function schemaOf(schema: z.ZodType, io: "input" | "output", id?: string): JsonObject {
  const { $schema: _, ...json } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as JsonObject;
  return id !== undefined && "$defs" in json ? { $id: `urn:keel:schema:${id}`, ...json } : json;
}

/** The first segment after the version, as the operation's tag: `runs`, `approvals`, `registry`. */
function tagOf(path: string): string {
  const [first, second] = path.split("/").filter(Boolean);
  return first === "v1" ? (second ?? "v1") : (first ?? "/");
}

/** Docs prose without its Markdown links' targets, which point into docs/. */
function plain(text: string): string {
  return text.replace(/\[([^\]]+)\]\([^)]+\)/g, "$1");
}
