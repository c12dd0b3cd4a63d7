/** Fail-closed cases for capability tokens: every token a tool must refuse, each a journaled deny. */
import { SignJWT } from "jose";
import type { KeelGovernor } from "../../src/governance/create-governor.ts";
import type { GovernanceStore } from "../../src/governance/governance-store.ts";
import type { PolicyDecision } from "../../src/governance/governor.ts";
import { createMemoryGovernanceStore } from "../../src/governance/memory-governance-store.ts";
import { hashPayload } from "../../src/journal/hash.ts";
import {
  alterClaims,
  conformanceAgent,
  type FailClosedCase,
  governorWith,
  impostorToken,
  PERMISSIVE,
  reissue,
  VALID,
  withToken,
} from "./fail-closed-fixtures.ts";

/** Tokens the tool must refuse: expired, tampered, issued for something else, revoked. */
export function tokenCases(): FailClosedCase[] {
  const cases: FailClosedCase[] = [];
  const add = (...more: FailClosedCase[]) => cases.push(...more);
  type TokenContext = {
    governor: KeelGovernor;
    reissuer: KeelGovernor;
    store: GovernanceStore;
    decision: PolicyDecision & { decision: "allow" };
  };
  const tokens: [string, (context: TokenContext) => Promise<string> | string][] = [
    [
      "an expired token",
      async ({ store }) => {
        const past = await governorWith({
          store,
          now: () => Date.now() - 3_600_000,
          governance: { ...PERMISSIVE, capabilityTtl: "1m" },
        });
        const args = VALID.get_order;
        const old = await past.decide(
          {
            kind: "tool-call",
            runId: "run_past",
            agent: { name: conformanceAgent.name, version: conformanceAgent.version },
            principal: { subject: "ada", tenant: "acme", roles: [] },
            tool: { name: "get_order", callId: "c1", arguments: args, argumentsHash: hashPayload(args) },
            dataClasses: [],
          },
          { signal: new AbortController().signal },
        );
        return old.decision === "allow" ? old.capability! : "";
      },
    ],
    [
      "a token with its payload altered",
      ({ decision }) => alterClaims(decision.capability!, { args: "0".repeat(64) }),
    ],
    [
      "a token with its expiry extended",
      ({ decision }) => alterClaims(decision.capability!, { exp: 4_102_444_800 }),
    ],
    [
      "a token with its signature flipped",
      ({ decision }) => {
        const token = decision.capability!;
        const last = token.at(-2) === "A" ? "B" : "A";
        return `${token.slice(0, -2)}${last}${token.at(-1)}`;
      },
    ],
    [
      "a token with no signature",
      ({ decision }) => `${decision.capability!.split(".").slice(0, 2).join(".")}.`,
    ],
    [
      "an unsigned alg=none token",
      ({ decision }) => {
        const [, payload] = decision.capability!.split(".");
        return `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${payload}.`;
      },
    ],
    [
      "an HS256 token keyed with the public key id",
      async ({ decision }) => {
        const claims = JSON.parse(Buffer.from(decision.capability!.split(".")[1]!, "base64url").toString());
        return await new SignJWT(claims)
          .setProtectedHeader({ alg: "HS256", kid: "conformance@1.0.0#x" })
          .sign(new TextEncoder().encode("secret"));
      },
    ],
    [
      "a token signed by a key nobody knows",
      async ({ decision }) => {
        const { generateKeyPairSync } = await import("node:crypto");
        const claims = JSON.parse(Buffer.from(decision.capability!.split(".")[1]!, "base64url").toString());
        return await new SignJWT(claims)
          .setProtectedHeader({ alg: "EdDSA", kid: "stranger#1" })
          .sign(generateKeyPairSync("ed25519").privateKey);
      },
    ],
    ["a token issued to another agent", ({ store, decision }) => impostorToken(store, decision)],
    [
      "a token for another run",
      ({ reissuer, decision }) => reissue(reissuer, decision, { runId: "run_other" }),
    ],
    [
      "a token for another call",
      ({ reissuer, decision }) => reissue(reissuer, decision, { callId: "call_other" }),
    ],
    [
      "a token for another tool",
      ({ reissuer, decision }) => reissue(reissuer, decision, { tool: "send_email" }),
    ],
    [
      "a token for other arguments",
      ({ reissuer, decision }) => reissue(reissuer, decision, { argumentsHash: hashPayload({ orderId: 9 }) }),
    ],
    [
      "a revoked token",
      async ({ governor, decision }) => {
        await governor.revocations.revokeToken(decision.capabilityId!);
        return decision.capability!;
      },
    ],
    [
      "a token of a revoked run",
      async ({ governor, decision }) => {
        await governor.revocations.revokeRun(
          JSON.parse(Buffer.from(decision.capability!.split(".")[1]!, "base64url").toString()).run,
        );
        return decision.capability!;
      },
    ],
    ["a garbage string", () => "not-a-jwt"],
    ["an empty token", () => ""],
  ];
  for (const [label, makeToken] of tokens) {
    for (const tool of ["get_order", "issue_refund"]) {
      add({
        category: "capability token",
        name: `${tool}: ${label}`,
        code: "capability_invalid",
        async setup() {
          const store = createMemoryGovernanceStore();
          const governor = await governorWith({ store });
          const reissuer = await governorWith({ store });
          return {
            agent: conformanceAgent,
            tool,
            arguments: VALID[tool],
            governor: withToken(
              governor,
              async (decision) => await makeToken({ governor, reissuer, store, decision }),
            ),
          };
        },
      });
    }
  }
  return cases;
}
