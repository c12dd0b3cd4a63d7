import { LEARNED_MODEL } from "./learned/injection-model.ts";

/**
 * The rules' score at or above which a text counts as an attack when the rules decide alone. Fitted once on the
 * benchmark corpus's validation split (highest recall with at most 5% false positives, midway between the
 * nearest benign and attack scores) by `fitThreshold`, then frozen before the test split was scored;
 * `fit-threshold.test.ts` checks it still matches.
 */
export const RULES_THRESHOLD = 0.589;

/**
 * The combined score (rules and learned model) at or above which a text counts as an attack: the runtime's
 * default. Fitted by `scripts/train-injection-model.ts` on the validation splits, with the same placement, before
 * any test row was scored; `fit-threshold.test.ts` checks it still matches.
 */
export const INJECTION_THRESHOLD = LEARNED_MODEL.threshold;
