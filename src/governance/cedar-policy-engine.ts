import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import type { PolicyAnswer, PolicyEngine, PolicyQuery } from "./policy-engine.ts";

/**
 * The policy engine on `@cedar-policy/cedar-wasm`, evaluated in-process. Policy sets are pre-parsed once
 * (`preparsePolicySet`) so a decision does not re-parse policy text; a reload parses under a new id, and the
 * caller swaps ids, so a decision is never made against a half-loaded set.
 */
export function createCedarPolicyEngine(): PolicyEngine {
  return {
    load(setId, policies) {
      const answer = cedar.preparsePolicySet(setId, { staticPolicies: { ...policies } });
      if (answer.type === "failure") {
        throw new Error(
          `Cedar policies do not parse: ${answer.errors.map((error) => error.message).join("; ")}`,
        );
      }
    },
    evaluate(query: PolicyQuery): PolicyAnswer {
      const answer = cedar.statefulIsAuthorized({
        principal: query.principal,
        action: query.action,
        resource: query.resource,
        context: query.context as cedar.Context,
        preparsedPolicySetId: query.setId,
        entities: query.entities as cedar.EntityJson[],
      });
      if (answer.type === "failure") {
        throw new Error(`Cedar could not decide: ${answer.errors.map((error) => error.message).join("; ")}`);
      }
      const { decision, diagnostics } = answer.response;
      return {
        decision,
        determining: diagnostics.reason,
        errors: diagnostics.errors.map((error) => `${error.policyId}: ${error.error.message}`),
      };
    },
  };
}

/** The Cedar version in use, for reports. */
export function cedarVersion(): string {
  return cedar.getCedarVersion();
}
