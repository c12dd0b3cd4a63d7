import { readFileSync } from "node:fs";
import { ERROR_CODES, type ErrorCode, KeelError } from "../errors/keel-error.ts";
import type { CliIo } from "./cli-io.ts";

/** The Keel server the CLI talks to: `--url`, else KEEL_URL, else the default local address. */
export const DEFAULT_URL = "http://127.0.0.1:7420";

/** A thin client for Keel's HTTP API that turns transport failures and JSON errors into KeelErrors. */
export type ApiClient = {
  readonly baseUrl: string;
  /** True when requests carry an API key: the server then knows who calls, and X-Keel-Subject is ignored. */
  readonly authenticated: boolean;
  request<T>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T>;
  /** The raw response, for streams. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
};

/**
 * A client for the server at `baseUrl`; with `apiKey`, every request carries it as `Authorization: Bearer`. The key
 * is never part of an error message.
 */
export function createApiClient(baseUrl: string, options: { apiKey?: string } = {}): ApiClient {
  const base = baseUrl.replace(/\/+$/, "");
  const authorization: Record<string, string> = options.apiKey
    ? { authorization: `Bearer ${options.apiKey}` }
    : {};
  async function send(path: string, init: RequestInit = {}): Promise<Response> {
    try {
      return await fetch(`${base}${path}`, {
        ...init,
        headers: { ...authorization, ...(init.headers as Record<string, string> | undefined) },
      });
    } catch (error) {
      const cause =
        error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
      throw new KeelError(
        "unavailable",
        `cannot reach the Keel server at ${base} (${cause}); start it with \`npm start\` or pass --url`,
      );
    }
  }
  return {
    baseUrl: base,
    authenticated: options.apiKey !== undefined && options.apiKey !== "",
    fetch: send,
    async request<T>(
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ): Promise<T> {
      const response = await send(path, {
        method,
        headers: {
          accept: "application/json",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      let parsed: unknown;
      try {
        parsed = text.length > 0 ? JSON.parse(text) : null;
      } catch {
        throw new KeelError(
          "internal",
          `the server answered ${response.status} with a body that is not JSON`,
        );
      }
      if (!response.ok) throw errorFromBody(response.status, parsed);
      return parsed as T;
    },
  };
}

function errorFromBody(status: number, body: unknown): KeelError {
  const error = (
    body as { error?: { code?: string; message?: string; issues?: { path: string; message: string }[] } }
  )?.error;
  const code = error?.code && error.code in ERROR_CODES ? (error.code as ErrorCode) : "internal";
  return new KeelError(code, error?.message ?? `the server answered ${status}`, {
    issues: error?.issues ?? [],
  });
}

/**
 * The client a command uses: `--url`, else KEEL_URL, else the local default; the API key from `--api-key-file`,
 * else KEEL_API_KEY, else the file named by KEEL_API_KEY_FILE (none: development mode servers need none).
 */
export function connectApiClient(
  io: CliIo,
  values: { url?: string | undefined; "api-key-file"?: string | undefined },
): ApiClient {
  const file = values["api-key-file"] ?? (io.env.KEEL_API_KEY ? undefined : io.env.KEEL_API_KEY_FILE);
  let apiKey = file === undefined ? io.env.KEEL_API_KEY : undefined;
  if (file !== undefined) {
    try {
      apiKey = readFileSync(file, "utf8").trim();
    } catch (error) {
      throw new KeelError(
        "invalid_request",
        `cannot read the API key file ${file} (${(error as NodeJS.ErrnoException).code ?? "error"})`,
      );
    }
  }
  return createApiClient(values.url ?? io.env.KEEL_URL ?? DEFAULT_URL, apiKey ? { apiKey } : {});
}
