import { type ConceptHit, compactHits, hitsOfTokens, wordHits } from "./concept-hits.ts";
import {
  HIDDEN_WEIGHT,
  type InjectionClass,
  type InjectionSource,
  OBFUSCATION_WEIGHT,
  PATTERN_RULES,
  type PatternRule,
  QUOTED_DISCUSSION_FACTOR,
  QUOTED_FACTOR,
  SEQUENCE_RULES,
  type SequenceRule,
} from "./injection-rules.ts";
import { INJECTION_THRESHOLD, RULES_THRESHOLD } from "./injection-threshold.ts";
import { LEARNED_MODEL } from "./learned/injection-model.ts";
import { scoreLearned } from "./learned/score-learned.ts";
import { matchSequence } from "./match-rules.ts";
import { type NormalizedText, normalizeText, type ObfuscationSignal } from "./normalize-text.ts";
import { insideSpans, overlapsSpans, quotedSpans } from "./quoted-spans.ts";
import { looksRot13, rot13 } from "./rot13.ts";
import { tokenize } from "./tokenize.ts";

/** Which reading of the text a rule matched in. */
export type InjectionView = "text" | "compact" | "rot13" | "decoded" | "hidden";

/** One rule that matched, with the weight it contributed after quoting and framing were taken into account. */
export type InjectionFinding = {
  rule: string;
  classes: InjectionClass[];
  weight: number;
  view: InjectionView;
  quoted: boolean;
};

/**
 * Which detector decides: `combined` (the default, what the runtime uses unless a spec sets
 * `guards.injection.builtIn: rules`) adds the rules' score, with a weight fitted on validation, to the learned
 * model's log-odds; `rules` is the rules alone. The model reads identifiers, timestamps and
 * numbers as fixed placeholders, so a structured tool result's score does not move with its random ids, and was
 * trained on ordinary requests that name a tool ("call lookup_order with 5512"), so asking for a tool by its name
 * is not read as an attack.
 */
export type Detector = "combined" | "rules";

/** The detector the runtime, `keel guard check` and `detectInjection` use when nothing says otherwise. */
export const DEFAULT_DETECTOR: Detector = "combined";

/** The detector's verdict on one text. */
export type InjectionVerdict = {
  /** True when `score` reaches the threshold. */
  detected: boolean;
  /** 0 to 1: the combination of `rulesScore` and `modelScore`, or `rulesScore` alone for the `rules` detector. */
  score: number;
  /** 0 (nothing found) to 1: the noisy-OR of the rule findings' weights. */
  rulesScore: number;
  /** The learned model's probability; absent for the `rules` detector. */
  modelScore?: number;
  threshold: number;
  findings: InjectionFinding[];
  /** Attack classes of the findings, strongest first. */
  classes: InjectionClass[];
  signals: ObfuscationSignal[];
};

/** Options for one inspection. */
export type DetectOptions = {
  /** Where the text came from; some rules (text addressed to "the assistant") apply only to tool results. */
  source?: InjectionSource;
  /** Score at or above which the text counts as an attack; defaults to the detector's frozen, fitted threshold. */
  threshold?: number;
  /** `rules` unless said otherwise (the runtime's default). */
  detector?: Detector;
};

/** A learned-model probability at or above this is reported as a finding of its own. */
const MODEL_FINDING = 0.5;

const MAX_DEPTH = 2;
/** Signals that say nothing about an attack on their own: accents are ordinary, hashes and ids are long tokens. */
const CONTEXT_SIGNALS: ReadonlySet<ObfuscationSignal> = new Set([
  "hidden-content",
  "diacritics",
  "compacted-words",
]);
/** The rules that apply to each source, chosen once rather than on every inspection. */
const RULES_BY_SOURCE: Record<InjectionSource, { rules: SequenceRule[]; patterns: PatternRule[] }> = {
  input: rulesFor("input"),
  "tool-result": rulesFor("tool-result"),
};

function rulesFor(source: InjectionSource): { rules: SequenceRule[]; patterns: PatternRule[] } {
  const applies = (rule: SequenceRule | PatternRule) =>
    rule.sources === undefined || rule.sources.includes(source);
  return { rules: SEQUENCE_RULES.filter(applies), patterns: PATTERN_RULES.filter(applies) };
}

/**
 * Inspect a text for prompt injection: normalise it (decodings, Unicode folding, de-spacing), match the rules
 * on each view of it (words, words run together, ROT13, decoded blobs, hidden content), weigh each finding (a
 * quotation inside text about attacks counts for little), and combine the weights into a score.
 */
export function detectInjection(text: string, options: DetectOptions = {}): InjectionVerdict {
  const detector = options.detector ?? DEFAULT_DETECTOR;
  const threshold = options.threshold ?? (detector === "rules" ? RULES_THRESHOLD : INJECTION_THRESHOLD);
  if (!(threshold > 0 && threshold <= 1)) {
    throw new RangeError(`options.threshold must be in (0, 1], got ${threshold}`);
  }
  const source = options.source ?? "input";
  const signals = new Set<ObfuscationSignal>();
  const normalized = normalizeText(text);
  const found = inspect(text, source, signals, 0, "text", normalized);
  const all = [...found.findings.values()];
  const strongest = Math.max(0, ...all.map((finding) => finding.weight));
  if (strongest >= 0.3) {
    const obfuscated =
      all.some((finding) => finding.view !== "text") ||
      [...signals].some((signal) => !CONTEXT_SIGNALS.has(signal));
    if (obfuscated) {
      all.push({
        rule: "obfuscated-attack",
        classes: ["obfuscation"],
        weight: OBFUSCATION_WEIGHT,
        view: "text",
        quoted: false,
      });
    }
    if (found.hidden) {
      all.push({
        rule: "hidden-attack",
        classes: ["hidden_content"],
        weight: HIDDEN_WEIGHT,
        view: "hidden",
        quoted: false,
      });
    }
  }
  let miss = 1;
  for (const finding of all) miss *= 1 - finding.weight;
  const rulesScore = round(1 - miss);
  let score = rulesScore;
  let modelScore: number | undefined;
  if (detector === "combined") {
    const probability = scoreLearned(normalized, source);
    modelScore = round(probability);
    score = combineScores(rulesScore, probability);
    if (modelScore >= MODEL_FINDING) {
      all.push({ rule: "learned-model", classes: [], weight: modelScore, view: "text", quoted: false });
    }
  }
  all.sort((left, right) => right.weight - left.weight);
  const classes: InjectionClass[] = [];
  for (const finding of all)
    for (const name of finding.classes) if (!classes.includes(name)) classes.push(name);
  return {
    detected: score >= threshold,
    score,
    rulesScore,
    ...(modelScore === undefined ? {} : { modelScore }),
    threshold,
    findings: all,
    classes,
    signals: [...signals],
  };
}

/**
 * The combined score: the rules' score added to the model's log-odds with the weight fitted on validation, so
 * the rules' evidence raises what the model reads and the model's can outweigh a rule matched in benign text.
 * The trainer passes each weight it tries.
 */
export function combineScores(
  rulesScore: number,
  probability: number,
  rulesWeight: number = LEARNED_MODEL.rulesWeight,
): number {
  const clamped = Math.min(Math.max(probability, 1e-6), 1 - 1e-6);
  const logOdds = Math.log(clamped / (1 - clamped)) + rulesWeight * rulesScore;
  return round(1 / (1 + Math.exp(-logOdds)));
}

/** Findings by rule, and whether any came from content hidden from a human reader. */
type Inspection = { findings: Map<string, InjectionFinding>; hidden: boolean };

function inspect(
  input: string,
  source: InjectionSource,
  signals: Set<ObfuscationSignal>,
  depth: number,
  view: InjectionView,
  normalized: NormalizedText = normalizeText(input),
): Inspection {
  const findings = new Map<string, InjectionFinding>();
  const result: Inspection = { findings, hidden: view === "hidden" };
  for (const signal of normalized.signals) signals.add(signal);
  const { rules, patterns } = RULES_BY_SOURCE[source];
  const tokens = tokenize(normalized.text);
  const hits = hitsOfTokens(tokens);
  readWords(normalized, hits, rules, patterns, view, findings, signals);
  if (normalized.compacted.length > 0) {
    const compact = compactHits(normalized.compacted);
    for (const rule of rules) {
      if (!rule.compact || findings.has(rule.id)) continue;
      if (matchSequence(rule, compact, 8).length > 0) {
        record(findings, rule, rule.weight, view === "text" ? "compact" : view, false);
      }
    }
  }
  if (looksRot13(tokens)) {
    const turned = rot13(normalized.text);
    readWords({ ...normalized, text: turned }, wordHits(turned), rules, patterns, "rot13", findings, signals);
  }
  if (depth >= MAX_DEPTH) return result;
  const nested = [
    ...normalized.decoded.map((decoded) => inspect(decoded, source, signals, depth + 1, "decoded")),
    ...normalized.hidden.map((hidden) => inspect(hidden, source, signals, depth + 1, "hidden")),
  ];
  for (const inner of nested) {
    if (inner.hidden && inner.findings.size > 0) result.hidden = true;
    for (const finding of inner.findings.values()) {
      const existing = findings.get(finding.rule);
      if (!existing || existing.weight < finding.weight) findings.set(finding.rule, finding);
    }
  }
  return result;
}

function readWords(
  normalized: NormalizedText,
  hits: readonly ConceptHit[],
  rules: readonly SequenceRule[],
  patterns: readonly PatternRule[],
  view: InjectionView,
  findings: Map<string, InjectionFinding>,
  signals: Set<ObfuscationSignal>,
): void {
  const spans = quotedSpans(normalized.text);
  const framed =
    spans.length > 0 &&
    hits.some((hit) => hit.concepts.has("meta") && !insideSpans(spans, hit.offset, hit.offset + hit.length));
  for (const rule of rules) {
    let best = 0;
    let quoted = false;
    for (const match of matchSequence(rule, hits)) {
      const first = match.hits[0]!;
      const last = match.hits.at(-1)!;
      const inQuotes = overlapsSpans(spans, first.offset, last.offset + last.length);
      const weight = rule.weight * (inQuotes ? (framed ? QUOTED_DISCUSSION_FACTOR : QUOTED_FACTOR) : 1);
      if (weight > best) {
        best = weight;
        quoted = inQuotes;
      }
      if (match.hits.some((hit) => hit.leet)) signals.add("leetspeak");
    }
    if (best > 0) record(findings, rule, best, view, quoted);
  }
  for (const rule of patterns) {
    const match = rule.pattern.exec(normalized.text);
    if (!match) continue;
    const inQuotes = overlapsSpans(spans, match.index, match.index + match[0].length);
    const weight = rule.weight * (inQuotes ? (framed ? QUOTED_DISCUSSION_FACTOR : QUOTED_FACTOR) : 1);
    record(findings, rule, weight, view, inQuotes);
  }
}

/** Keep the strongest finding per rule across views. */
function record(
  findings: Map<string, InjectionFinding>,
  rule: SequenceRule | PatternRule,
  weight: number,
  view: InjectionView,
  quoted: boolean,
): void {
  const existing = findings.get(rule.id);
  if (existing && existing.weight >= weight) return;
  findings.set(rule.id, { rule: rule.id, classes: [...rule.classes], weight: round(weight), view, quoted });
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
