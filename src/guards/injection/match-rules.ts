import { type ConceptBits, type ConceptHit, conceptBits } from "./concept-hits.ts";
import type { SequenceRule } from "./injection-rules.ts";

/** Where a rule matched: the hits it used, from the first to the last. */
export type RuleMatch = { hits: ConceptHit[] };

/**
 * Every place a sequence rule matches in a list of hits sorted by start: from each hit satisfying the first step,
 * the nearest following hit satisfying each next step within its gap. `unit` scales gaps (1 for words, about 8
 * for letters in compact runs).
 */
export function matchSequence(rule: SequenceRule, hits: readonly ConceptHit[], unit = 1): RuleMatch[] {
  const [first, ...rest] = stepBits(rule);
  if (!first) return [];
  const matches: RuleMatch[] = [];
  for (let index = 0; index < hits.length; index++) {
    const head = hits[index]!;
    if (!satisfies(head, first)) continue;
    const used = [head];
    let current = head;
    let position = index;
    let complete = true;
    for (let step = 0; step < rest.length; step++) {
      const limit = (rule.gaps[step] ?? 0) * unit;
      const next = findNext(hits, position, current, rest[step]!, limit);
      if (next === null) {
        complete = false;
        break;
      }
      used.push(hits[next]!);
      current = hits[next]!;
      position = next;
    }
    if (complete) matches.push({ hits: used });
  }
  return matches;
}

function findNext(
  hits: readonly ConceptHit[],
  from: number,
  current: ConceptHit,
  wanted: ConceptBits,
  limit: number,
): number | null {
  for (let index = from + 1; index < hits.length; index++) {
    const candidate = hits[index]!;
    if (candidate.start < current.end) continue;
    if (candidate.start - current.end > limit) return null;
    if (satisfies(candidate, wanted)) return index;
  }
  return null;
}

function satisfies(hit: ConceptHit, wanted: ConceptBits): boolean {
  return (hit.low & wanted.low) !== 0 || (hit.high & wanted.high) !== 0;
}

const STEPS = new WeakMap<SequenceRule, ConceptBits[]>();

/** A rule's steps as concept masks, worked out once per rule. */
function stepBits(rule: SequenceRule): ConceptBits[] {
  let steps = STEPS.get(rule);
  if (!steps) {
    steps = rule.steps.map((step) => conceptBits(step));
    STEPS.set(rule, steps);
  }
  return steps;
}
