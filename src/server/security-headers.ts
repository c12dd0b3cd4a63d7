import type { MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";

const COMMON = {
  xFrameOptions: "DENY",
  referrerPolicy: "no-referrer",
  xContentTypeOptions: "nosniff",
  strictTransportSecurity: "max-age=31536000; includeSubDomains",
  crossOriginResourcePolicy: "same-origin",
  crossOriginOpenerPolicy: "same-origin",
  xPermittedCrossDomainPolicies: "none",
  xXssProtection: "0",
  removePoweredBy: true,
} as const;

/**
 * Security headers on every response, errors included. The API serves JSON, text and SSE, never pages, so its
 * content security policy allows nothing and no framing. The console's page (`/`) and its assets may load only the
 * server's own script, style sheet and images and call only the server itself: no inline script, no other origin,
 * no framing. HSTS is sent always: browsers ignore it over plain HTTP (RFC 6797 §8.1), and behind a
 * TLS-terminating proxy it keeps clients on HTTPS.
 */
export function securityHeaders(): MiddlewareHandler {
  const api = secureHeaders({
    ...COMMON,
    contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  });
  const page = secureHeaders({
    ...COMMON,
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", "data:"],
      connectSrc: ["'self'"],
      baseUri: ["'none'"],
      formAction: ["'none'"],
      frameAncestors: ["'none'"],
    },
  });
  return (context, next) => {
    const path = context.req.path;
    return path === "/" || path.startsWith("/console/") ? page(context, next) : api(context, next);
  };
}
