import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import type { PolicyMode } from "../spec/index.ts";
import type { GovernedPolicyFile } from "./governed-agent.ts";

/** One policy from a team's Cedar file, with the id, effect and annotations the governor reads. */
export type TeamPolicy = {
  id: string;
  text: string;
  effect: "permit" | "forbid";
  /** `@review` (or `@review("why")`) on a forbid: the action is held for a person instead of denied. */
  review: boolean;
  reason: string;
  mode: PolicyMode;
  source: string;
};

/**
 * Split a team's Cedar file into its policies. Each gets the id `<path>#<@id or position>` and its reason from
 * `@reason("…")` or `@review("…")`. Throws with the file's name on a parse error, a template, or `@review` on a
 * permit (a review can only hold back an action, never grant one).
 */
export function parseTeamPolicies(file: GovernedPolicyFile): TeamPolicy[] {
  const parts = cedar.policySetTextToParts(file.text);
  if (parts.type === "failure") {
    throw new Error(`${file.path}: ${parts.errors.map((error) => error.message).join("; ")}`);
  }
  if (parts.policy_templates.length > 0) {
    throw new Error(`${file.path}: policy templates are not supported; write static policies`);
  }
  const seen = new Set<string>();
  return parts.policies.map((text, index) => {
    const json = cedar.policyToJson(text);
    if (json.type === "failure") {
      throw new Error(`${file.path}: ${json.errors.map((error) => error.message).join("; ")}`);
    }
    const annotations = json.json.annotations ?? {};
    const local = annotations.id ?? String(index);
    const id = `${file.path}#${local}`;
    if (seen.has(id)) throw new Error(`${file.path}: two policies have the id "${local}"`);
    seen.add(id);
    const review = "review" in annotations;
    if (review && json.json.effect !== "forbid") {
      throw new Error(`${id}: @review holds an action for a person, so it belongs on a forbid policy`);
    }
    const reason = annotations.reason ?? annotations.review ?? `${json.json.effect} policy ${id}`;
    return { id, text, effect: json.json.effect, review, reason, mode: file.mode, source: file.path };
  });
}
