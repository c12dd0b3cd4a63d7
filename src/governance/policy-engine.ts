/** A Cedar entity reference: `Keel::Tool::"issue_refund"`. */
export type EntityRef = { type: string; id: string };

/** An entity with its attributes and parents, in Cedar's JSON form. */
export type PolicyEntity = { uid: EntityRef; attrs: Record<string, unknown>; parents: EntityRef[] };

/** One authorization question against a loaded policy set. */
export type PolicyQuery = {
  setId: string;
  principal: EntityRef;
  action: EntityRef;
  resource: EntityRef;
  context: Record<string, unknown>;
  entities: readonly PolicyEntity[];
};

/**
 * Cedar's answer: `allow` when some permit and no forbid is satisfied. `determining` lists the satisfied forbids
 * (on deny) or permits (on allow); `errors` lists policies whose evaluation failed (the governor denies on any).
 */
export type PolicyAnswer = { decision: "allow" | "deny"; determining: string[]; errors: string[] };

/** The policy decision engine: load pre-parsed policy sets by id, then answer queries against them. */
export interface PolicyEngine {
  /** Parse and cache a policy set (policy id → Cedar text); throws with every parse error when it does not parse. */
  load(setId: string, policies: Readonly<Record<string, string>>): void;
  /** Answer one query; throws when the engine cannot (an unknown set, a malformed request). */
  evaluate(query: PolicyQuery): PolicyAnswer;
}
