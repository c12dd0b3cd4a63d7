import type { MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";

/**
 * Security headers on every response, errors included. The API serves JSON, text and SSE, never pages, so the
 * content security policy allows nothing and no framing. HSTS is sent always: browsers ignore it over plain HTTP
 * (RFC 6797 §8.1), and behind a TLS-terminating proxy it keeps clients on HTTPS.
 */
export function securityHeaders(): MiddlewareHandler {
  return secureHeaders({
    contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    xFrameOptions: "DENY",
    referrerPolicy: "no-referrer",
    xContentTypeOptions: "nosniff",
    strictTransportSecurity: "max-age=31536000; includeSubDomains",
    crossOriginResourcePolicy: "same-origin",
    crossOriginOpenerPolicy: "same-origin",
    xPermittedCrossDomainPolicies: "none",
    xXssProtection: "0",
    removePoweredBy: true,
  });
}
