import { hitsOfTokens } from "../concept-hits.ts";
import type { InjectionSource } from "../injection-rules.ts";
import type { NormalizedText } from "../normalize-text.ts";
import { looksRot13, rot13 } from "../rot13.ts";
import { tokenize } from "../tokenize.ts";
import { type ConceptLexicon, indexLexicon, lexiconHits, parseLexicon } from "./concept-lexicon.ts";
import { type LearnedView, modelWords } from "./hash-features.ts";
import { LEARNED_MODEL } from "./injection-model.ts";
import { jsonStrings } from "./json-strings.ts";
import { maskIdentifiers } from "./mask-identifiers.ts";

/**
 * Characters per window: about a paragraph, so an injection inside a long document is not averaged away. Windows
 * overlap by a quarter, so an injection of up to 160 characters lies whole inside one of them.
 */
const WINDOW = 640;
const STRIDE = 480;
/** Concepts at most this many words apart also count as a pair ("ignore … instructions"). */
const PAIR_GAP = 6;
/**
 * A tool result's concepts are counted twice, once as they are and once marked as read from a tool: an address
 * to the assistant or a request for an action means more inside a fetched document than in a person's own
 * message, and the marked copies let the model learn by how much.
 */
const TOOL_RESULT = "tool-result:";
/**
 * The lexicon the shipped model was trained with (its weights are for the concepts this lexicon finds), indexed
 * on first use: some 13,000 forms, which a process that never scores a text need not index.
 */
let modelLexicon: ConceptLexicon | undefined;
function shippedLexicon(): ConceptLexicon {
  modelLexicon ??= indexLexicon(parseLexicon(LEARNED_MODEL.lexicon));
  return modelLexicon;
}

/** A run of words expressing concepts, from the rules' vocabulary or the model's lexicon. */
type Hit = { concepts: Iterable<string>; start: number; end: number };

/**
 * The views the learned model scores for one normalised text: the text in overlapping windows (a JSON object or
 * array read as its keys and string values), its ROT13 reading when it looks ROT13-encoded, and each decoded blob
 * and hidden part on its own. The text's score is the highest of them.
 */
export function learnedViews(
  normalized: NormalizedText,
  source: InjectionSource,
  lexicon: ConceptLexicon = shippedLexicon(),
): LearnedView[] {
  const viewOf = (text: string) => viewOfSource(text, source, lexicon);
  const views = windows(jsonStrings(normalized.text) ?? normalized.text).map(viewOf);
  if (looksRot13(tokenize(normalized.text))) views.push(...windows(rot13(normalized.text)).map(viewOf));
  for (const part of [...normalized.decoded, ...normalized.hidden]) views.push(...windows(part).map(viewOf));
  return views;
}

/**
 * A stretch's words, with identifiers, times and numbers masked (`maskIdentifiers`), and its concepts. The concepts
 * come from the rules' vocabulary and the model's lexicon of other languages, so "disregard your guidelines",
 * "ignore the rules" and "zignoruj zasady" share features even where their words differ; a concept pair is two
 * concepts in order within a few words.
 */
function viewOfSource(text: string, source: InjectionSource, lexicon: ConceptLexicon): LearnedView {
  const tokens = tokenize(text);
  const hits = mergeHits(hitsOfTokens(tokens), lexiconHits(tokens, lexicon));
  const concepts: string[] = [];
  for (const [index, hit] of hits.entries()) {
    for (const concept of hit.concepts) concepts.push(concept);
    for (const next of hits.slice(index + 1, index + 4)) {
      if (next.start - hit.end > PAIR_GAP) break;
      pairs(hit, next, concepts);
    }
  }
  if (source === "tool-result") {
    const count = concepts.length;
    concepts.push(TOOL_RESULT);
    for (let index = 0; index < count; index++) concepts.push(`${TOOL_RESULT}${concepts[index]}`);
  }
  return { words: modelWords(maskIdentifiers(text)), concepts };
}

/**
 * Both kinds of hit in token order. A lexicon concept the rules' vocabulary already found at the same word is
 * dropped, so a loanword both list ("prompt") is not counted twice.
 */
function mergeHits(rules: readonly Hit[], lexicon: readonly Hit[]): Hit[] {
  if (lexicon.length === 0) return rules as Hit[];
  const known = new Map<number, Set<string>>();
  for (const hit of rules) {
    const concepts = known.get(hit.start) ?? new Set();
    for (const concept of hit.concepts) concepts.add(concept);
    known.set(hit.start, concepts);
  }
  const extra: Hit[] = [];
  for (const hit of lexicon) {
    const seen = known.get(hit.start);
    const concepts = seen ? [...hit.concepts].filter((concept) => !seen.has(concept)) : hit.concepts;
    if (!seen || (concepts as string[]).length > 0) extra.push({ concepts, start: hit.start, end: hit.end });
  }
  return [...rules, ...extra].sort((a, b) => a.start - b.start);
}

function pairs(first: Hit, second: Hit, into: string[]): void {
  for (const left of first.concepts) for (const right of second.concepts) into.push(`${left}>${right}`);
}

function windows(text: string): string[] {
  if (text.length <= WINDOW) return [text];
  const result: string[] = [];
  for (let start = 0; start < text.length; start += STRIDE) {
    result.push(text.slice(start, start + WINDOW));
    if (start + WINDOW >= text.length) break;
  }
  return result;
}
