/**
 * Prompt-injection detection: a normalisation pipeline (decodings, Unicode folding, de-spacing, hidden content)
 * followed by concept-sequence and pattern rules whose weights combine into a score with a corpus-fitted threshold.
 */
export {
  DEFAULT_DETECTOR,
  type DetectOptions,
  type Detector,
  detectInjection,
  type InjectionFinding,
  type InjectionVerdict,
  type InjectionView,
} from "./detect-injection.ts";
export type { InjectionClass, InjectionSource } from "./injection-rules.ts";
export { INJECTION_THRESHOLD } from "./injection-threshold.ts";
export { keysAndStrings } from "./learned/json-strings.ts";
export { type NormalizedText, normalizeText, type ObfuscationSignal } from "./normalize-text.ts";
