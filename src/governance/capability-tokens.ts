import { randomUUID, sign } from "node:crypto";
import { decodeProtectedHeader, errors, jwtVerify } from "jose";
import type { Principal } from "../journal/index.ts";
import type { AgentIdentities, AgentIdentity } from "./agent-identities.ts";
import type { GovernanceStore } from "./governance-store.ts";
import type { CapabilityBinding, CapabilityCheck } from "./governor.ts";

/** The longest a capability token may live (the issue's bound). */
export const MAX_CAPABILITY_TTL_MS = 15 * 60_000;

/** The audience of a tool's tokens: a token for one tool is refused by every other. */
export function toolAudience(tool: string): string {
  return `keel:tool:${tool}`;
}

/**
 * Issue a capability token for one tool call: an EdDSA JWT signed with the agent version's key, bound to the run,
 * the call, the tool (audience) and the arguments' hash, naming the user and tenant it acts for. Signed with
 * node:crypto directly (a compact JWS any JOSE library verifies), because it is on every tool call's path.
 */
export async function issueCapability(options: {
  identity: AgentIdentity;
  principal: Principal;
  runId: string;
  tool: string;
  callId: string;
  argumentsHash: string;
  ttlMs: number;
  now: number;
}): Promise<{ token: string; id: string; expiresAt: Date }> {
  const ttlMs = Math.min(options.ttlMs, MAX_CAPABILITY_TTL_MS);
  // randomUUID draws from a cached entropy pool: a per-call randomBytes costs more than the rest of the claims.
  const id = randomUUID();
  const issuedAt = Math.floor(options.now / 1000);
  const expiresAt = issuedAt + Math.floor(ttlMs / 1000);
  const header = headerOf(options.identity.kid);
  const payload = Buffer.from(
    JSON.stringify({
      run: options.runId,
      call: options.callId,
      tool: options.tool,
      args: options.argumentsHash,
      ten: options.principal.tenant,
      roles: options.principal.roles,
      iss: `keel:agent:${options.identity.agent}@${options.identity.version}`,
      sub: options.principal.subject,
      aud: toolAudience(options.tool),
      jti: id,
      iat: issuedAt,
      exp: expiresAt,
    }),
  ).toString("base64url");
  const signingInput = `${header}.${payload}`;
  const signature = sign(null, Buffer.from(signingInput), options.identity.privateKey).toString("base64url");
  return { token: `${signingInput}.${signature}`, id, expiresAt: new Date(expiresAt * 1000) };
}

const headers = new Map<string, string>();

/** The encoded protected header of a key's tokens, made once per key. */
function headerOf(kid: string): string {
  let header = headers.get(kid);
  if (!header) {
    header = Buffer.from(JSON.stringify({ alg: "EdDSA", kid, typ: "JWT" })).toString("base64url");
    headers.set(kid, header);
  }
  return header;
}

/** Revoked tokens and runs, held in memory and persisted; `refresh` picks up other processes' revocations. */
export class RevocationList {
  private readonly store: GovernanceStore;
  private tokens = new Set<string>();
  private runs = new Set<string>();

  constructor(options: { store: GovernanceStore }) {
    this.store = options.store;
  }

  /** Revoke one token (by jti): refused here at once, and everywhere after the next refresh. */
  async revokeToken(id: string): Promise<void> {
    this.tokens.add(id);
    await this.store.putRevocation({ kind: "token", value: id });
  }

  /** Revoke every token of a run. */
  async revokeRun(runId: string): Promise<void> {
    this.runs.add(runId);
    await this.store.putRevocation({ kind: "run", value: runId });
  }

  isRevoked(id: string, runId: string): boolean {
    return this.tokens.has(id) || this.runs.has(runId);
  }

  async refresh(): Promise<void> {
    const revocations = await this.store.listRevocations();
    const tokens = new Set<string>(this.tokens);
    const runs = new Set<string>(this.runs);
    for (const revocation of revocations) (revocation.kind === "token" ? tokens : runs).add(revocation.value);
    this.tokens = tokens;
    this.runs = runs;
  }
}

/**
 * Verify a capability token: a known, unrevoked key signed it with EdDSA; it has not expired; it was issued for
 * this run, call, tool and argument hash; and it is not revoked. Never throws.
 */
export async function verifyCapability(
  token: string,
  binding: CapabilityBinding,
  options: { identities: AgentIdentities; revocations: RevocationList; now: number },
): Promise<CapabilityCheck> {
  try {
    const header = decodeProtectedHeader(token);
    if (header.alg !== "EdDSA" || typeof header.kid !== "string") {
      return { ok: false, reason: "the token is not an EdDSA token with a key id" };
    }
    const key = await options.identities.publicKey(header.kid);
    if (!key) return { ok: false, reason: `the signing key ${header.kid} is unknown or revoked` };
    const { payload } = await jwtVerify(token, key, {
      algorithms: ["EdDSA"],
      audience: toolAudience(binding.tool),
      currentDate: new Date(options.now),
      requiredClaims: ["exp", "iat", "jti", "sub", "iss"],
    });
    const claims = payload as typeof payload & Record<string, unknown>;
    if ((claims.exp ?? 0) - (claims.iat ?? 0) > MAX_CAPABILITY_TTL_MS / 1000) {
      return { ok: false, reason: "the token lives longer than 15 minutes" };
    }
    const mismatch = (
      [
        ["run", binding.runId],
        ["call", binding.callId],
        ["tool", binding.tool],
        ["args", binding.argumentsHash],
      ] as const
    ).find(([claim, expected]) => claims[claim] !== expected);
    if (mismatch) return { ok: false, reason: `the token was issued for another ${mismatch[0]}` };
    if (binding.agent !== undefined && claims.iss !== `keel:agent:${binding.agent}`) {
      return { ok: false, reason: "the token was issued to another agent" };
    }
    if (options.revocations.isRevoked(claims.jti!, binding.runId)) {
      return { ok: false, reason: "the token has been revoked" };
    }
    return {
      ok: true,
      id: claims.jti!,
      agent: String(claims.iss).replace(/^keel:agent:/, ""),
      subject: claims.sub!,
      tenant: String(claims.ten),
      expiresAt: new Date(claims.exp! * 1000),
    };
  } catch (error) {
    if (error instanceof errors.JWTExpired) return { ok: false, reason: "the token has expired" };
    if (error instanceof errors.JWSSignatureVerificationFailed) {
      return {
        ok: false,
        reason: "the token's signature does not verify (it was altered or signed by another key)",
      };
    }
    if (error instanceof errors.JOSEError)
      return { ok: false, reason: `the token is invalid: ${error.message}` };
    return {
      ok: false,
      reason: `the token could not be checked: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}
