import { readFileSync } from "node:fs";
import { createKeelClient, type KeelClient } from "../client/index.ts";
import { KeelError } from "../errors/index.ts";
import type { CliIo } from "./cli-io.ts";

/** The Keel server the CLI talks to: `--url`, else KEEL_URL, else the default local address. */
export const DEFAULT_URL = "http://127.0.0.1:7420";

/** The CLI's client of Keel's HTTP API: the typed client (src/client/), whose answers the route declarations type. */
export type ApiClient = KeelClient;

/**
 * A client for the server at `baseUrl`; with `apiKey`, every request carries it as `Authorization: Bearer`. The key
 * is never part of an error message.
 */
export function createApiClient(baseUrl: string, options: { apiKey?: string } = {}): ApiClient {
  return createKeelClient({
    baseUrl,
    ...(options.apiKey ? { apiKey: options.apiKey } : {}),
    unreachableHint: "start it with `npm start` or pass --url",
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
