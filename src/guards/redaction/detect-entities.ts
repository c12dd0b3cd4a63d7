import type { Detector } from "./detector.ts";
import { DETECTORS } from "./detectors.ts";
import { ENTITY_CLASSES, type EntityClass, type EntityType } from "./entity-types.ts";

/** One sensitive value found in a text: its type, class, and the span `[start, end)` that would be masked. */
export type Finding = { type: EntityType; class: EntityClass; start: number; end: number };

type Compiled = { detector: Detector; pattern: RegExp; priority: number };

const COMPILED: readonly Compiled[] = DETECTORS.map((detector, priority) => ({
  detector,
  // The `d` flag gives capture-group spans, for detectors that mask only part of their match.
  pattern: new RegExp(
    detector.pattern.source,
    detector.group && !detector.pattern.flags.includes("d")
      ? `${detector.pattern.flags}d`
      : detector.pattern.flags,
  ),
  priority,
}));

type Scored = Finding & { priority: number };

/**
 * Find the sensitive values of the given classes in a text. Overlapping findings are settled by detector
 * priority, then length, so each character is masked at most once.
 */
export function detectEntities(text: string, classes: ReadonlySet<EntityClass>): Finding[] {
  // The shortest value a detector masks is a short IPv6 address such as `::4a` (or `::2`): below that, nothing.
  if (text.length < 3 || classes.size === 0) return [];
  const prefilter = prefilterFor(classes);
  if (prefilter !== null && !prefilter.some((pattern) => pattern.test(text))) return [];
  return scanEveryDetector(text, classes);
}

/**
 * Patterns that between them match a text exactly when at least one of the classes' detectors' hints does, or
 * null when one of those detectors has no hint. A detector runs only when its hint matches, so a text these miss
 * would have been skipped by every detector one by one: the pre-filter is never weaker than the scan, only two
 * passes (the case-sensitive hints joined, and the case-insensitive ones) instead of one per detector. Most of
 * what a run journals (ids, tool names, short results) has no hint of a secret at all.
 */
function prefilterFor(classes: ReadonlySet<EntityClass>): RegExp[] | null {
  let key = 0;
  for (let index = 0; index < CLASSES.length; index++) if (classes.has(CLASSES[index]!)) key |= 1 << index;
  let prefilter = PREFILTERS.get(key);
  if (prefilter === undefined) {
    const hints = COMPILED.filter(({ detector }) => classes.has(detector.class)).map(
      ({ detector }) => detector.hint,
    );
    prefilter = hints.every((hint) => hint !== undefined && (hint.flags === "" || hint.flags === "i"))
      ? joinHints(hints as RegExp[])
      : null;
    PREFILTERS.set(key, prefilter);
  }
  return prefilter;
}

/**
 * One alternation per flag set. (Inline `(?i:…)` groups would make it one pattern, but V8 misses matches with
 * them in some alternations; the property test caught that.)
 */
function joinHints(hints: readonly RegExp[]): RegExp[] {
  return ["", "i"].flatMap((flags) => {
    const sources = hints.filter((hint) => hint.flags === flags).map((hint) => `(?:${hint.source})`);
    return sources.length === 0 ? [] : [new RegExp(sources.join("|"), flags)];
  });
}

/** Pre-filters by the set of classes they cover, one bit per class. */
const PREFILTERS = new Map<number, RegExp[] | null>();
const CLASSES: readonly EntityClass[] = [...new Set(Object.values(ENTITY_CLASSES))];

/** Every detector of the classes over the text, each skipped only when its own hint misses. */
export function scanEveryDetector(text: string, classes: ReadonlySet<EntityClass>): Finding[] {
  const candidates: Scored[] = [];
  for (const { detector, pattern, priority } of COMPILED) {
    if (!classes.has(detector.class)) continue;
    if (detector.hint && !detector.hint.test(text)) continue;
    pattern.lastIndex = 0;
    for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
      if (match[0].length === 0) {
        pattern.lastIndex += 1;
        continue;
      }
      const span = spanOf(detector, match);
      if (!span) continue;
      const verdict = detector.validate
        ? detector.validate({
            text,
            value: text.slice(span.start, span.end),
            ...span,
            groups: match.slice(1),
          })
        : true;
      if (verdict === false) continue;
      const { start, end } = verdict === true ? span : verdict;
      candidates.push({ type: detector.type, class: detector.class, start, end, priority });
    }
  }
  return settleOverlaps(candidates);
}

function spanOf(detector: Detector, match: RegExpExecArray): { start: number; end: number } | null {
  if (!detector.group) return { start: match.index, end: match.index + match[0].length };
  for (const group of detector.group) {
    const indices = match.indices?.[group];
    if (indices) return { start: indices[0], end: indices[1] };
  }
  return null;
}

function settleOverlaps(candidates: Scored[]): Finding[] {
  if (candidates.length <= 1) return candidates.map(({ priority: _priority, ...finding }) => finding);
  candidates.sort(
    (a, b) => a.priority - b.priority || b.end - b.start - (a.end - a.start) || a.start - b.start,
  );
  const kept: Scored[] = [];
  for (const candidate of candidates) {
    if (kept.some((other) => candidate.start < other.end && other.start < candidate.end)) continue;
    kept.push(candidate);
  }
  kept.sort((a, b) => a.start - b.start);
  return kept.map(({ priority: _priority, ...finding }) => finding);
}
