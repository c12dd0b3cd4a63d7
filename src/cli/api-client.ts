import { ERROR_CODES, type ErrorCode, KeelError } from "../errors/keel-error.ts";

/** The Keel server the CLI talks to: `--url`, else KEEL_URL, else the default local address. */
export const DEFAULT_URL = "http://127.0.0.1:7420";

/** A thin client for Keel's HTTP API that turns transport failures and JSON errors into KeelErrors. */
export type ApiClient = {
  readonly baseUrl: string;
  request<T>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T>;
  /** The raw response, for streams. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
};

export function createApiClient(baseUrl: string): ApiClient {
  const base = baseUrl.replace(/\/+$/, "");
  async function send(path: string, init: RequestInit = {}): Promise<Response> {
    try {
      return await fetch(`${base}${path}`, init);
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
