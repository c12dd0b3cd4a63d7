import { lookup as dnsLookup } from "node:dns/promises";
import http from "node:http";
import https from "node:https";
import { BlockList, isIP } from "node:net";
import { KeelError } from "../errors/index.ts";
import { hostAllowed } from "../spec/index.ts";

/** An address a name resolves to. */
export type ResolvedAddress = { address: string; family: 4 | 6 };

/** Resolves a host name to all its addresses (node:dns by default; a test injects its own). */
export type Resolve = (host: string) => Promise<readonly ResolvedAddress[]>;

export type EgressRules = {
  /** Hosts calls may reach: exact names, `*.suffix` for subdomains, IPv4 literals or `[IPv6]` literals. */
  allowHosts: readonly string[];
  /** Let calls reach private, loopback, link-local and other non-public addresses: all hosts, or those listed. */
  allowPrivateNetworks: boolean | readonly string[];
};

export type EgressRequest = {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  maxResponseBytes: number;
  maxRedirects: number;
  signal?: AbortSignal;
};

export type EgressResponse = {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The URL that answered, after redirects. */
  url: string;
};

const defaultResolve: Resolve = async (host) =>
  (await dnsLookup(host, { all: true, verbatim: true })).map((entry) => ({
    address: entry.address,
    family: entry.family === 6 ? 6 : 4,
  }));

/** Addresses no call reaches unless private networks are allowed: every range that is not the public internet. */
const nonPublic = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8], // "this network", unspecified
  ["10.0.0.0", 8], // private
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local (cloud metadata at 169.254.169.254)
  ["172.16.0.0", 12], // private
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.0.2.0", 24], // documentation
  ["192.168.0.0", 16], // private
  ["198.18.0.0", 15], // benchmarking
  ["198.51.100.0", 24], // documentation
  ["203.0.113.0", 24], // documentation
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
] as const)
  nonPublic.addSubnet(network, prefix, "ipv4");
for (const [network, prefix] of [
  ["::", 128], // unspecified
  ["::1", 128], // loopback
  ["64:ff9b:1::", 48], // local-use NAT64
  ["100::", 64], // discard-only
  ["2001:db8::", 32], // documentation
  ["fc00::", 7], // unique-local
  ["fe80::", 10], // link-local
  ["fec0::", 10], // site-local (deprecated)
  ["ff00::", 8], // multicast
] as const)
  nonPublic.addSubnet(network, prefix, "ipv6");

/**
 * Why an address is not on the public internet, or null when it is. An IPv6 form that carries an IPv4 address
 * (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`) is judged by that address.
 */
export function nonPublicAddress(address: string): string | null {
  const family = isIP(address);
  if (family === 0) return `${address} is not an IP address`;
  if (family === 6) {
    const embedded = embeddedIpv4(address);
    if (embedded !== null) {
      const reason = nonPublicAddress(embedded);
      return reason === null ? null : `${address} carries ${embedded}: ${reason}`;
    }
    return nonPublic.check(address, "ipv6") ? `${address} is not a public address` : null;
  }
  return nonPublic.check(address, "ipv4") ? `${address} is not a public address` : null;
}

/** The IPv4 address an IPv6 address carries in its last 32 bits, for the forms that route to it; else null. */
function embeddedIpv4(address: string): string | null {
  // The URL parser writes every IPv6 address one canonical way (lowercase, compressed, hex groups).
  const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const match = /^(::ffff:|::|64:ff9b::|::ffff:0:)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!match) return null;
  const high = Number.parseInt(match[2]!, 16);
  const low = Number.parseInt(match[3]!, 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join(".");
}

const refuse = (message: string) => new KeelError("forbidden", message);

/**
 * Check a URL against the egress rules and resolve its host to the address the request will connect to: the
 * host must be allowed, and (unless private networks are) every address it resolves to must be public, so a name
 * with one public and one loopback address is refused too. The address returned is the one connected to; nothing
 * looks the name up again, so a DNS answer that changes between check and connection is not followed.
 */
export async function checkEgress(
  url: URL,
  rules: EgressRules,
  resolve: Resolve = defaultResolve,
): Promise<ResolvedAddress> {
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw refuse(`${url.protocol} URLs are not allowed: only http and https`);
  if (url.username !== "" || url.password !== "")
    throw refuse(`a URL with credentials in it is not allowed (${url.host})`);
  const host = url.hostname.toLowerCase();
  if (!hostAllowed(host, rules.allowHosts))
    throw refuse(`host ${host} is not in the agent's http.allowHosts (${rules.allowHosts.join(", ")})`);
  const literal = host.startsWith("[") ? host.slice(1, -1) : host;
  let addresses: readonly ResolvedAddress[];
  if (isIP(literal) !== 0) addresses = [{ address: literal, family: isIP(literal) === 6 ? 6 : 4 }];
  else {
    try {
      addresses = await resolve(host.endsWith(".") ? host.slice(0, -1) : host);
    } catch (error) {
      throw new Error(
        `${host} could not be resolved: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (addresses.length === 0) throw new Error(`${host} resolves to no address`);
  }
  const privateAllowed =
    rules.allowPrivateNetworks === true ||
    (Array.isArray(rules.allowPrivateNetworks) && hostAllowed(host, rules.allowPrivateNetworks));
  if (!privateAllowed) {
    for (const { address } of addresses) {
      const reason = nonPublicAddress(address);
      if (reason !== null)
        throw refuse(
          `${host} resolves to ${address}, which is not a public address (${reason}); set http.allowPrivateNetworks to reach it`,
        );
    }
  }
  return addresses[0]!;
}

/**
 * Make an HTTP request under the egress rules: each URL (the first and every redirect's Location) is checked and
 * connected to at the address checked, with the Host header (and TLS server name) of the URL; redirects are
 * followed by hand up to `maxRedirects`; the body read is cut at `maxResponseBytes` and the whole exchange at
 * `timeoutMs`. A refusal is a `forbidden` KeelError.
 */
export async function egressRequest(
  request: EgressRequest,
  rules: EgressRules,
  resolve?: Resolve,
): Promise<EgressResponse> {
  const timeout = AbortSignal.timeout(request.timeoutMs);
  const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
  let url = new URL(request.url);
  let method = request.method;
  let body = request.body;
  let headers = { ...request.headers };
  for (let redirects = 0; ; redirects += 1) {
    const pinned = await untilAborted(checkEgress(url, rules, resolve), signal, () =>
      timeout.aborted
        ? new Error(`${url.host} could not be resolved within ${request.timeoutMs} ms`)
        : new Error(`the call to ${url.host} was stopped`),
    );
    const response = await send(url, pinned, { method, headers, body, signal }, request, timeout);
    const location = response.headers.location;
    if (response.status < 300 || response.status >= 400 || response.status === 304 || !location)
      return { ...response, url: url.href };
    if (redirects >= request.maxRedirects)
      throw new Error(`${url.href} redirected more than ${request.maxRedirects} times`);
    const next = new URL(location, url);
    // 303 (and, as browsers do, 301/302 after a POST) turns the request into a GET without a body.
    if (
      response.status === 303 ||
      ((response.status === 301 || response.status === 302) && method === "POST")
    ) {
      method = "GET";
      body = undefined;
      headers = withoutHeaders(headers, ["content-type", "content-length"]);
    }
    // Credentials set for one origin are not carried to another.
    if (next.origin !== url.origin)
      headers = withoutHeaders(headers, ["authorization", "cookie", "proxy-authorization"]);
    url = next;
  }
}

/** The promise's outcome, or the error `stopped` makes once the signal aborts (a DNS lookup takes no signal). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, stopped: () => Error): Promise<T> {
  if (signal.aborted) return Promise.reject(stopped());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(stopped());
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function withoutHeaders(headers: Record<string, string>, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !names.includes(name.toLowerCase())));
}

function send(
  url: URL,
  pinned: ResolvedAddress,
  options: { method: string; headers: Record<string, string>; body: string | undefined; signal: AbortSignal },
  request: EgressRequest,
  timeout: AbortSignal,
): Promise<Omit<EgressResponse, "url">> {
  const transport = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const outgoing = transport.request(
      url,
      {
        method: options.method,
        headers: {
          ...options.headers,
          ...(options.body === undefined
            ? {}
            : { "content-length": String(Buffer.byteLength(options.body)) }),
        },
        signal: options.signal,
        agent: false,
        // Connect to the address that was checked, whatever the name resolves to now.
        lookup: (_host, lookupOptions, callback) => {
          if ((lookupOptions as { all?: boolean }).all)
            (callback as (error: null, addresses: { address: string; family: number }[]) => void)(null, [
              pinned,
            ]);
          else callback(null, pinned.address, pinned.family);
        },
      },
      (incoming) => {
        const declared = Number(incoming.headers["content-length"]);
        if (declared > request.maxResponseBytes) {
          incoming.destroy();
          outgoing.destroy();
          reject(
            new Error(
              `${url.host} announced ${declared} bytes, more than the ${request.maxResponseBytes} a call may read (maxResponseBytes): the response was not read`,
            ),
          );
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        incoming.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > request.maxResponseBytes) {
            incoming.destroy();
            outgoing.destroy();
            reject(
              new Error(
                `${url.host} answered more than ${request.maxResponseBytes} bytes (maxResponseBytes): the response was dropped`,
              ),
            );
            return;
          }
          chunks.push(chunk);
        });
        incoming.on("end", () =>
          resolve({
            status: incoming.statusCode ?? 0,
            headers: incoming.headers,
            body: Buffer.concat(chunks),
          }),
        );
        incoming.on("error", (error) => reject(describe(error, url, request, timeout)));
      },
    );
    outgoing.on("error", (error) => reject(describe(error, url, request, timeout)));
    outgoing.end(options.body);
  });
}

function describe(error: Error, url: URL, request: EgressRequest, timeout: AbortSignal): Error {
  if (timeout.aborted) return new Error(`${url.host} did not answer within ${request.timeoutMs} ms`);
  return new Error(`${url.host}: ${error.message}`);
}
