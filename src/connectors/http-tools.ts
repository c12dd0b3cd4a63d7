import { readFile } from "node:fs/promises";
import { dirname, resolve as resolvePath } from "node:path";
import { Ajv } from "ajv";
import { parse as parseYaml } from "yaml";
import { KeelError } from "../errors/index.ts";
import type { HttpSection, HttpToolSpec, OpenApiSpec, ValueSource } from "../spec/index.ts";
import { jsonSchemaInput, type Tool, type ToolContext } from "../tools/index.ts";
import { type EgressRules, egressRequest, type Resolve } from "./http-egress.ts";

type Env = Readonly<Record<string, string | undefined>>;
type Arguments = Record<string, unknown>;

const ajv = new Ajv({ strict: false, allErrors: true });

/** How one tool turns its arguments into a request: the parts of the request each argument fills. */
type RequestPlan = {
  method: string;
  /** The URL with `{argument}` placeholders. */
  url: string;
  query: readonly string[];
  /** Headers filled from arguments (OpenAPI header parameters). */
  headerArguments: readonly { header: string; argument: string }[];
  /** The argument sent as the JSON body, "arguments" for all those not used elsewhere, or none. */
  body: string | undefined;
  headers: Record<string, string>;
};

/**
 * Bind an agent's HTTP tools — those its spec declares and the OpenAPI operations it names — as Keel tools. Each
 * call goes through the egress rules of the section (allowed hosts, no private addresses unless allowed, redirects
 * re-checked, size and time limits); headers read from environment variables are read here, so a missing secret
 * stops startup rather than the first call.
 */
export async function bindHttpTools(options: {
  specFile: string;
  section: HttpSection;
  env: Env;
  /** Resolves host names (node:dns unless given). */
  resolve?: Resolve;
}): Promise<Tool<Arguments, unknown>[]> {
  const { section, specFile } = options;
  const rules: EgressRules = {
    allowHosts: section.allowHosts,
    allowPrivateNetworks: section.allowPrivateNetworks,
  };
  const bind = (definition: Omit<HttpToolOptions, "rules" | "resolve" | "section">) =>
    new HttpTool({ ...definition, rules, section, ...(options.resolve ? { resolve: options.resolve } : {}) });
  const tools: Tool<Arguments, unknown>[] = section.tools.map((tool, index) =>
    bind({
      name: tool.name,
      description: tool.description,
      input: jsonSchemaInput(tool.input, `${specFile}: http.tools[${index}] (${tool.name})`),
      output: tool.output ? compileOutput(tool.output, `${specFile}: http.tools[${index}].output`) : null,
      plan: {
        method: tool.method,
        url: tool.url,
        query: tool.query,
        headerArguments: [],
        body: tool.body ?? (bodyless(tool.method) ? undefined : "arguments"),
        headers: readValueSources(tool.headers, options.env, `${specFile}: http.tools[${index}].headers`),
      },
      declared: tool,
    }),
  );
  for (const [index, document] of section.openapi.entries())
    tools.push(
      ...(await openApiTools(
        document,
        `${specFile}: http.openapi[${index}]`,
        dirname(specFile),
        options.env,
        bind,
      )),
    );
  return tools;
}

const bodyless = (method: string) => method === "GET" || method === "HEAD" || method === "DELETE";

/** Header values as sent: literal, or read from the environment now, so a missing secret stops startup. */
export function readValueSources(
  entries: Readonly<Record<string, ValueSource>>,
  env: Env,
  field: string,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(entries).map(([name, source]) => {
      if (typeof source === "string") return [name, source];
      const value = env[source.fromEnv];
      if (value === undefined)
        throw new KeelError("invalid_spec", `${field}.${name} reads ${source.fromEnv}, which is not set`);
      return [name, `${source.prefix ?? ""}${value}`];
    }),
  );
}

function compileOutput(schema: Record<string, unknown>, what: string): ReturnType<Ajv["compile"]> {
  try {
    return ajv.compile(schema);
  } catch (error) {
    throw new KeelError(
      "invalid_spec",
      `${what}: not a JSON Schema Keel can check against: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

type HttpToolOptions = {
  name: string;
  description: string;
  input: Tool<Arguments>["input"];
  output: ReturnType<Ajv["compile"]> | null;
  plan: RequestPlan;
  declared: Pick<HttpToolSpec, "sideEffect" | "dataClasses" | "sendsDataOutside" | "timeout">;
  rules: EgressRules;
  section: HttpSection;
  resolve?: Resolve;
};

/** One HTTP call as a Keel tool. */
class HttpTool implements Tool<Arguments, unknown> {
  readonly name: string;
  readonly description: string;
  readonly input: Tool<Arguments>["input"];
  readonly sideEffect: boolean;
  readonly timeoutMs: number;
  readonly dataClasses?: readonly string[];
  readonly sendsDataOutside: boolean;
  readonly #options: HttpToolOptions;

  constructor(options: HttpToolOptions) {
    this.name = options.name;
    this.description = options.description;
    this.input = options.input;
    this.sideEffect =
      options.declared.sideEffect ?? !(options.plan.method === "GET" || options.plan.method === "HEAD");
    this.timeoutMs = options.declared.timeout ?? options.section.timeout;
    if (options.declared.dataClasses) this.dataClasses = options.declared.dataClasses;
    this.sendsDataOutside = options.declared.sendsDataOutside;
    this.#options = options;
  }

  async execute(args: Arguments, context: ToolContext): Promise<unknown> {
    const { plan, section } = this.#options;
    const used = new Set<string>();
    const url = new URL(
      plan.url.replace(/\{([^{}]+)\}/g, (_, name: string) => {
        const value = args[name];
        if (value === undefined || value === null)
          throw new Error(`${this.name}: the URL needs the argument ${name}, which the call did not give`);
        used.add(name);
        return encodeURIComponent(typeof value === "string" ? value : JSON.stringify(value));
      }),
    );
    for (const name of plan.query) {
      used.add(name);
      const value = args[name];
      if (value === undefined || value === null) continue;
      for (const each of Array.isArray(value) ? value : [value])
        url.searchParams.append(name, typeof each === "string" ? each : JSON.stringify(each));
    }
    const headers: Record<string, string> = { accept: "application/json", ...plan.headers };
    for (const { header, argument } of plan.headerArguments) {
      used.add(argument);
      const value = args[argument];
      if (value !== undefined && value !== null)
        headers[header] = typeof value === "string" ? value : JSON.stringify(value);
    }
    if (context.traceparent) headers.traceparent = context.traceparent;
    if (this.sideEffect) headers["idempotency-key"] = context.idempotencyKey;
    let body: string | undefined;
    if (plan.body === "arguments")
      body = JSON.stringify(Object.fromEntries(Object.entries(args).filter(([name]) => !used.has(name))));
    else if (plan.body !== undefined && args[plan.body] !== undefined) body = JSON.stringify(args[plan.body]);
    if (body !== undefined) headers["content-type"] = "application/json";

    const response = await egressRequest(
      {
        method: plan.method,
        url: url.href,
        headers,
        ...(body === undefined ? {} : { body }),
        timeoutMs: this.timeoutMs,
        maxResponseBytes: section.maxResponseBytes,
        maxRedirects: section.maxRedirects,
        signal: context.signal,
      },
      this.#options.rules,
      this.#options.resolve,
    );
    const text = response.body.toString("utf8");
    if (response.status < 200 || response.status >= 300)
      throw new Error(
        `${plan.method} ${response.url} answered ${response.status}: ${text.slice(0, 300) || "(no body)"}`,
      );
    const type = String(response.headers["content-type"] ?? "");
    let result: unknown;
    if (/\bjson\b/i.test(type) || (type === "" && /^\s*[[{]/.test(text))) {
      try {
        result = text === "" ? null : JSON.parse(text);
      } catch {
        throw new Error(
          `${plan.method} ${response.url} answered JSON that does not parse: ${text.slice(0, 200)}`,
        );
      }
    } else result = { status: response.status, contentType: type, text };
    const output = this.#options.output;
    if (output && !output(result))
      throw new Error(
        `${plan.method} ${response.url} answered what its output schema does not allow: ${(
          output.errors ?? []
        )
          .map((error) => `${error.instancePath || "(root)"} ${error.message ?? "is not valid"}`)
          .join("; ")}`,
      );
    return result;
  }
}

type OpenApiDocument = {
  openapi?: unknown;
  paths?: Record<string, Record<string, unknown>>;
};

type OpenApiParameter = {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  description?: string;
  schema?: Record<string, unknown>;
};

const METHODS = ["get", "put", "post", "delete", "patch", "head"] as const;

/** The tools an OpenAPI document's named operations become. */
async function openApiTools(
  spec: OpenApiSpec,
  where: string,
  specDir: string,
  env: Env,
  bind: (definition: Omit<HttpToolOptions, "rules" | "resolve" | "section">) => HttpTool,
): Promise<HttpTool[]> {
  const file = resolvePath(specDir, spec.document);
  let document: OpenApiDocument;
  try {
    document = parseYaml(await readFile(file, "utf8")) as OpenApiDocument;
  } catch (error) {
    throw new KeelError(
      "invalid_spec",
      `${where}.document: ${file} could not be read as JSON or YAML: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (typeof document?.openapi !== "string" || !/^3\.[01]\./.test(document.openapi))
    throw new KeelError("invalid_spec", `${where}.document: ${file} is not an OpenAPI 3.0 or 3.1 document`);
  const operations = new Map<
    string,
    { path: string; method: string; operation: Record<string, unknown>; shared: unknown[] }
  >();
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const method of METHODS) {
      const operation = item[method] as Record<string, unknown> | undefined;
      if (typeof operation?.operationId === "string")
        operations.set(operation.operationId, {
          path,
          method: method.toUpperCase(),
          operation,
          shared: (item.parameters as unknown[]) ?? [],
        });
    }
  }
  const headers = readValueSources(spec.headers, env, `${where}.headers`);
  return spec.operations.map((declared, index) => {
    const found = operations.get(declared.operationId);
    if (!found)
      throw new KeelError(
        "invalid_spec",
        `${where}.operations[${index}].operationId: ${file} has no operation ${declared.operationId} (it has: ${[...operations.keys()].join(", ") || "none"})`,
      );
    const { path, method, operation } = found;
    const resolved = (value: unknown) => dereference(value, document, `${where}.operations[${index}]`);
    const parameters = [...found.shared, ...((operation.parameters as unknown[]) ?? [])].map(
      (parameter) => resolved(parameter) as OpenApiParameter,
    );
    const properties: Record<string, unknown> = {};
    const required: string[] = [];
    for (const parameter of parameters) {
      if (parameter.in === "cookie") continue;
      properties[parameter.name] = {
        ...(parameter.schema ? (resolved(parameter.schema) as Record<string, unknown>) : {}),
        ...(parameter.description ? { description: parameter.description } : {}),
      };
      if (parameter.required || parameter.in === "path") required.push(parameter.name);
    }
    const requestBody = operation.requestBody
      ? (resolved(operation.requestBody) as Record<string, unknown>)
      : null;
    const bodySchema = (requestBody?.content as Record<string, { schema?: unknown }> | undefined)?.[
      "application/json"
    ]?.schema;
    if (requestBody && bodySchema !== undefined) {
      properties.body = resolved(bodySchema);
      if (requestBody.required) required.push("body");
    }
    const name = declared.as ?? declared.operationId;
    const summary = [operation.summary, operation.description]
      .filter((text) => typeof text === "string")
      .join("\n");
    return bind({
      name,
      description: summary || `${method} ${path}`,
      input: jsonSchemaInput(
        { type: "object", properties, required, additionalProperties: false },
        `${where}.operations[${index}] (${declared.operationId})`,
      ),
      output: null,
      plan: {
        method,
        url: `${spec.baseUrl.replace(/\/$/, "")}${path}`,
        query: parameters.filter((parameter) => parameter.in === "query").map((parameter) => parameter.name),
        headerArguments: parameters
          .filter((parameter) => parameter.in === "header")
          .map((parameter) => ({ header: parameter.name, argument: parameter.name })),
        body: requestBody && bodySchema !== undefined ? "body" : undefined,
        headers,
      },
      declared,
    });
  });
}

/** A value with its local `$ref`s (`#/components/...`) replaced by what they point at; a cycle is an error. */
function dereference(
  value: unknown,
  document: unknown,
  where: string,
  seen: readonly string[] = [],
): unknown {
  if (Array.isArray(value)) return value.map((each) => dereference(each, document, where, seen));
  if (typeof value !== "object" || value === null) return value;
  const ref = (value as { $ref?: unknown }).$ref;
  if (typeof ref === "string") {
    if (!ref.startsWith("#/"))
      throw new KeelError(
        "invalid_spec",
        `${where}: only references inside the document are supported, not ${ref}`,
      );
    if (seen.includes(ref))
      throw new KeelError("invalid_spec", `${where}: ${ref} refers to itself, which a tool's schema cannot`);
    let target: unknown = document;
    for (const part of ref.slice(2).split("/"))
      target = (target as Record<string, unknown> | undefined)?.[
        part.replaceAll("~1", "/").replaceAll("~0", "~")
      ];
    if (target === undefined) throw new KeelError("invalid_spec", `${where}: ${ref} points at nothing`);
    return dereference(target, document, where, [...seen, ref]);
  }
  return Object.fromEntries(
    Object.entries(value).map(([key, each]) => [key, dereference(each, document, where, seen)]),
  );
}
