import type { EntityClass, EntityType } from "./entity-types.ts";

/**
 * A match a detector's pattern found: the whole text, the span it would mask and its value, and the pattern's
 * capture groups (undefined where a group did not take part).
 */
export type Candidate = {
  text: string;
  value: string;
  start: number;
  end: number;
  groups: readonly (string | undefined)[];
};

/**
 * One entity detector: a global pattern that finds candidates and a validator (check digits, ranges, context)
 * that cuts false positives. `group` names the capture group to mask when only part of the match is sensitive
 * (the value in `password=…`). `hint` is a cheap test that lets a text skip the pattern altogether.
 */
export type Detector = {
  type: EntityType;
  class: EntityClass;
  pattern: RegExp;
  group?: readonly number[];
  hint?: RegExp;
  /** True to keep the candidate; a span narrows it (an IBAN run that went on into the next word). */
  validate?: (candidate: Candidate) => boolean | { start: number; end: number };
};

/** True when one of `words` ends within `window` characters before `start` (a label such as "DOB:"). */
export function labelledBefore(text: string, start: number, words: RegExp, window = 40): boolean {
  return words.test(text.slice(Math.max(0, start - window), start));
}
