/**
 * The score at or above which a text counts as an attack. Fitted once on the corpus's validation split (highest
 * recall with at most 5% false positives, midway between the nearest benign and attack scores) by
 * `fitThreshold`, then frozen before the test split was scored; `fit-threshold.test.ts` checks it still matches.
 */
export const INJECTION_THRESHOLD = 0.589;
