import type { Governor } from "../src/governance/governor.ts";

/**
 * A governor double that allows every action. The step benchmarks measure what durability adds, not policy
 * evaluation, so the decision itself costs nothing here; the runtime still journals it like any decision.
 */
export const allowAllGovernor: Governor = {
  async decide() {
    return {
      decision: "allow",
      reasons: ["benchmark: every action is allowed"],
      policies: [],
      stage: "policy",
    };
  },
  async verifyCapability() {
    return { ok: false, reason: "the benchmark governor issues no capability tokens" };
  },
};
