import type { ModelCallPhase } from "../journal/index.ts";
import type { ModelErrorClass } from "./model-call-error.ts";
import { type LabelledExample, type TextClassifier, trainTextClassifier } from "./text-classifier.ts";

/**
 * A model named in a spec: provider and pinned id, for a fallback the error classes it takes over, and for a
 * self-hosted OpenAI-compatible server where it is and which variable holds its key.
 */
export type TargetRef = {
  provider: string;
  model: string;
  on?: readonly ModelErrorClass[];
  endpoint?: { baseUrl?: string; keyEnv?: string; selfHosted?: boolean };
};

/** A routing rule: when every condition holds, use this model (first matching rule wins). */
export type RoutingRule = {
  name: string;
  when: {
    phase?: readonly ModelCallPhase[];
    agent?: readonly string[];
    /** Estimated input tokens at least / at most. */
    minInputTokens?: number;
    maxInputTokens?: number;
    /** Every tag listed must be on the call. */
    tags?: readonly string[];
  };
  use: TargetRef;
};

/** Small model first; escalate to the next tier when the output fails validation or says it is unsure. */
export type CascadePolicy = {
  tiers: readonly TargetRef[];
  escalateOn: { invalidOutput: boolean; lowConfidence: RegExp | null; truncated: boolean };
};

/** Route by a classifier trained on the spec's labelled examples; unsure predictions fall through. */
export type ClassifierPolicy = {
  classifier: TextClassifier;
  routes: Readonly<Record<string, TargetRef>>;
  minConfidence: number;
};

/** Everything the gateway needs to choose and call a model for one agent (or one endpoint key). */
export type ModelPolicy = {
  primary: TargetRef;
  fallbacks: readonly TargetRef[];
  rules: readonly RoutingRule[];
  classifier?: ClassifierPolicy;
  cascade?: CascadePolicy;
  /** Exact response cache TTL; absent means the response cache is off. */
  responseCacheTtlMs?: number;
  /** Provider prompt caching (breakpoints, cache keys); on unless turned off. */
  promptCaching: boolean;
};

/** What routing decided, and why, for the journal. */
export type RouteDecision = {
  /** Tiers to try in order (one unless cascading); each tier is a failover chain. */
  tiers: readonly (readonly TargetRef[])[];
  reason: string;
  rule?: string;
  cascade?: CascadePolicy;
};

/** Facts about one call that rules may test. */
export type RouteFacts = {
  agent: string;
  phase: ModelCallPhase;
  inputTokens: number;
  tags: readonly string[];
  /** The text the classifier reads: the latest user message. */
  text: string;
};

/** Train a classifier policy from labelled examples (done once, when the spec is bound). */
export function classifierPolicy(options: {
  examples: readonly LabelledExample[];
  routes: Readonly<Record<string, TargetRef>>;
  minConfidence?: number;
}): ClassifierPolicy {
  return {
    classifier: trainTextClassifier(options.examples),
    routes: options.routes,
    minConfidence: options.minConfidence ?? 0.7,
  };
}

/** Choose the model(s) for one call: explicit rules, then the classifier, then the cascade, then the default. */
export function routeModelCall(policy: ModelPolicy, facts: RouteFacts): RouteDecision {
  const chain = (first: TargetRef) => [
    first,
    ...policy.fallbacks.filter(
      (fallback) => fallback.provider !== first.provider || fallback.model !== first.model,
    ),
  ];
  for (const rule of policy.rules) {
    if (matches(rule, facts)) {
      return {
        tiers: [chain(rule.use)],
        reason: `routing rule "${rule.name}" matched (${describeFacts(facts)})`,
        rule: rule.name,
      };
    }
  }
  if (policy.classifier && facts.text.length > 0) {
    const { label, confidence } = policy.classifier.classifier.classify(facts.text);
    const target = policy.classifier.routes[label];
    if (target && confidence >= policy.classifier.minConfidence) {
      return {
        tiers: [chain(target)],
        reason: `classifier labelled the input "${label}" (confidence ${confidence.toFixed(2)})`,
        rule: `classifier:${label}`,
      };
    }
  }
  if (policy.cascade && policy.cascade.tiers.length > 0) {
    return {
      tiers: policy.cascade.tiers.map((tier) => chain(tier)),
      reason: `cascade: ${policy.cascade.tiers.map((tier) => tier.model).join(" → ")}`,
      rule: "cascade",
      cascade: policy.cascade,
    };
  }
  return { tiers: [chain(policy.primary)], reason: "default model" };
}

function matches(rule: RoutingRule, facts: RouteFacts): boolean {
  const { when } = rule;
  if (when.phase && !when.phase.includes(facts.phase)) return false;
  if (when.agent && !when.agent.includes(facts.agent)) return false;
  if (when.minInputTokens !== undefined && facts.inputTokens < when.minInputTokens) return false;
  if (when.maxInputTokens !== undefined && facts.inputTokens > when.maxInputTokens) return false;
  if (when.tags && !when.tags.every((tag) => facts.tags.includes(tag))) return false;
  return true;
}

function describeFacts(facts: RouteFacts): string {
  const tags = facts.tags.length > 0 ? `, tags ${facts.tags.join(",")}` : "";
  return `phase ${facts.phase}, ~${facts.inputTokens} input tokens${tags}`;
}
