import { type EgressRules, egressRequest, type Resolve } from "./http-egress.ts";

/**
 * A `fetch` for a client library (the A2A SDK's card resolver and transports) that sends every request under the
 * egress rules: allowed hosts only, no private addresses unless allowed, redirects re-checked (at most `maxRedirects`), the body read cut at
 * `maxResponseBytes` and each request at `timeoutMs`. `headers` (credentials) are added to every request; the
 * library's own headers win only where they are not set here. Answers are whole bodies: no streaming.
 */
export function egressFetch(options: {
  rules: EgressRules;
  maxRedirects: number;
  timeoutMs: number;
  maxResponseBytes: number;
  headers: Readonly<Record<string, string>>;
  resolve?: Resolve;
}): typeof fetch {
  const send = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = input instanceof Request ? input : null;
    const url = request ? request.url : String(input);
    const headers: Record<string, string> = {};
    new Headers(init?.headers ?? request?.headers).forEach((value, name) => {
      headers[name] = value;
    });
    for (const [name, value] of Object.entries(options.headers)) headers[name.toLowerCase()] = value;
    const body = init?.body ?? null;
    if (body !== null && typeof body !== "string")
      throw new TypeError("egressFetch sends only text bodies (the A2A client's JSON)");
    const signal = init?.signal ?? request?.signal ?? undefined;
    const response = await egressRequest(
      {
        method: init?.method ?? request?.method ?? "GET",
        url,
        headers,
        ...(body === null ? {} : { body }),
        timeoutMs: options.timeoutMs,
        maxResponseBytes: options.maxResponseBytes,
        maxRedirects: options.maxRedirects,
        ...(signal ? { signal } : {}),
      },
      options.rules,
      options.resolve,
    );
    const answered = new Headers();
    for (const [name, value] of Object.entries(response.headers)) {
      if (value === undefined) continue;
      for (const each of Array.isArray(value) ? value : [value]) answered.append(name, each);
    }
    const empty = response.status === 204 || response.status === 304 || response.body.length === 0;
    return new Response(empty ? null : new Uint8Array(response.body), {
      status: response.status,
      headers: answered,
    });
  };
  return send as typeof fetch;
}
