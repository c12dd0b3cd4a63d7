import { z } from "zod";
import { byteLimit } from "./byte-limit.ts";
import { durationSchema } from "./duration.ts";
import { ValueSource } from "./mcp-section.ts";

const Timeout = durationSchema({ units: ["ms", "s", "m"], examples: "500ms, 30s or 2m", title: "Duration" });

const ToolName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/, "expected letters, digits, _ and - (what model providers accept)");

const HeaderName = z.string().regex(/^[A-Za-z0-9-]+$/, "expected an HTTP header name");

const DataClasses = z
  .array(z.string().regex(/^[a-z][a-z0-9_-]*$/, "expected a lowercase data class"))
  .optional()
  .describe("Classes of data its results hold: public, internal, pii, financial, secret…");

/** A JSON Schema, inline: checked to compile when the tool is bound. */
const JsonSchemaObject = z.record(z.string(), z.unknown());

const Method = z.enum(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]);

const HttpToolSpec = z
  .strictObject({
    name: ToolName.describe("The tool's name, in tools and governance."),
    description: z.string().min(1).describe("What the model reads about the tool."),
    method: Method.default("GET").describe("The HTTP method (default GET)."),
    url: z
      .string()
      .regex(/^https?:\/\//, "expected an http:// or https:// URL")
      .describe("The URL, with {argument} placeholders filled from the call's arguments (URL-encoded)."),
    query: z
      .array(z.string().min(1))
      .default([])
      .describe("Arguments sent as query parameters (those absent from a call are left out)."),
    headers: z
      .record(HeaderName, ValueSource)
      .default({})
      .describe("Headers sent with every call (secrets through fromEnv)."),
    body: z
      .string()
      .min(1)
      .optional()
      .describe(
        'The argument sent as the JSON body, or "arguments" for every argument not used in the URL or query (the default for POST, PUT and PATCH; GET, HEAD and DELETE send none).',
      ),
    input: JsonSchemaObject.default({ type: "object", properties: {}, additionalProperties: false }).describe(
      "JSON Schema of the call's arguments (an object).",
    ),
    output: JsonSchemaObject.optional().describe(
      "JSON Schema the JSON response must satisfy; a response that does not is the call's error.",
    ),
    sideEffect: z
      .boolean()
      .optional()
      .describe("False for a call that only reads (default: false for GET and HEAD, true otherwise)."),
    dataClasses: DataClasses,
    sendsDataOutside: z
      .boolean()
      .default(false)
      .describe("True when it sends data outside the organisation."),
    timeout: Timeout.optional().describe("Limit for one call (default: the section's timeout)."),
  })
  .superRefine((tool, context) => {
    const properties = (tool.input as { properties?: Record<string, unknown> }).properties ?? {};
    const placeholders = [...tool.url.matchAll(/\{([^{}]+)\}/g)].map((match) => match[1]!);
    for (const name of placeholders)
      if (!(name in properties))
        context.addIssue({
          code: "custom",
          path: ["url"],
          message: `the placeholder {${name}} is not a property of input`,
          input: tool.url,
        });
    tool.query.forEach((name, index) => {
      if (!(name in properties))
        context.addIssue({
          code: "custom",
          path: ["query", index],
          message: `${name} is not a property of input`,
          input: name,
        });
    });
    if (tool.body !== undefined && tool.body !== "arguments" && !(tool.body in properties))
      context.addIssue({
        code: "custom",
        path: ["body"],
        message: `${tool.body} is not a property of input (or write "arguments")`,
        input: tool.body,
      });
  });

export type HttpToolSpec = z.output<typeof HttpToolSpec>;

const OpenApiOperationSpec = z.strictObject({
  operationId: z.string().min(1).describe("The operation's operationId in the document."),
  as: ToolName.optional().describe("The name the agent knows it by (default: its operationId)."),
  sideEffect: z
    .boolean()
    .optional()
    .describe("False for an operation that only reads (default: false for GET and HEAD, true otherwise)."),
  dataClasses: DataClasses,
  sendsDataOutside: z.boolean().default(false).describe("True when it sends data outside the organisation."),
  timeout: Timeout.optional().describe("Limit for one call (default: the section's timeout)."),
});

const OpenApiSpec = z.strictObject({
  document: z
    .string()
    .min(1)
    .describe("Path (relative to this spec) of an OpenAPI 3.0 or 3.1 document, JSON or YAML."),
  baseUrl: z
    .string()
    .regex(/^https?:\/\//, "expected an http:// or https:// URL")
    .describe("The URL the operations' paths are appended to."),
  headers: z
    .record(HeaderName, ValueSource)
    .default({})
    .describe("Headers sent with every call (secrets through fromEnv)."),
  operations: z
    .array(OpenApiOperationSpec)
    .min(1)
    .describe("The operations that become tools; others are ignored."),
});

export type OpenApiSpec = z.output<typeof OpenApiSpec>;

const HostPattern = z
  .string()
  .regex(
    /^(\*\.)?[a-z0-9.-]+$|^\[[0-9a-f:.]+\]$/,
    "expected a lowercase host name, *.suffix, an IPv4 address or an [IPv6] address",
  );

export const HttpSection = z
  .strictObject({
    allowHosts: z
      .array(HostPattern)
      .min(1)
      .describe(
        "The hosts calls may reach (exact, or *.example.com for its subdomains); every other is refused.",
      ),
    allowPrivateNetworks: z
      .union([z.boolean(), z.array(HostPattern).min(1)])
      .default(false)
      .describe(
        "True to let calls reach private, loopback and link-local addresses (refused by default, against SSRF), or the hosts (of allowHosts) that may.",
      ),
    timeout: Timeout.prefault("30s").describe("Limit for one call, redirects included (default 30s)."),
    maxResponseBytes: byteLimit(
      "The largest response body a call may read (default 1 MiB); a larger one is the call's error.",
    ),
    maxRedirects: z
      .number()
      .int()
      .min(0)
      .max(10)
      .default(5)
      .describe("Redirects followed, each re-checked (default 5)."),
    tools: z.array(HttpToolSpec).default([]).describe("HTTP calls declared here."),
    openapi: z.array(OpenApiSpec).default([]).describe("Operations of OpenAPI documents, each one a tool."),
  })
  .describe("Tools that call HTTP APIs, declared here or taken from OpenAPI documents (docs/connectors.md).");

export type HttpSection = z.output<typeof HttpSection>;

/** The names the agent knows the section's tools by, each with the field path that declares it. */
export function httpToolNames(section: HttpSection): { name: string; path: (string | number)[] }[] {
  return [
    ...section.tools.map((tool, index) => ({ name: tool.name, path: ["tools", index, "name"] })),
    ...section.openapi.flatMap((document, documentIndex) =>
      document.operations.map((operation, index) => ({
        name: operation.as ?? operation.operationId,
        path: ["openapi", documentIndex, "operations", index, operation.as ? "as" : "operationId"],
      })),
    ),
  ];
}

/** True when `host` (a URL's hostname, lowercase) is one of `allowHosts`: an exact name, or a subdomain of `*.suffix`. */
export function hostAllowed(host: string, allowHosts: readonly string[]): boolean {
  const name = host.endsWith(".") ? host.slice(0, -1) : host;
  return allowHosts.some((pattern) =>
    pattern.startsWith("*.")
      ? name.endsWith(pattern.slice(1)) && name.length > pattern.length - 1
      : name === pattern,
  );
}
