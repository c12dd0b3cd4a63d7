import { normalizeText } from "../normalize-text.ts";
import { type Token, tokenize } from "../tokenize.ts";
import { type Concept, VOCABULARY } from "../vocabulary.ts";

/**
 * The learned model's concept lexicon: the rules' concepts in the languages the rules' own vocabulary does not
 * cover, so an attack in Polish, Hindi or Japanese yields the same concept features ("override", "prompt",
 * "reveal") the model learned from every other language. Only the learned model reads it; the rules keep their
 * vocabulary, and with it their false-positive rate.
 *
 * A form is stored as the guard's normaliser and tokeniser read it, and matched against text read the same way:
 * - `word`: a whole word, or a phrase of whole words;
 * - `stem`: a word that starts with it (`игнорир*` matches "игнорируй" and "игнорировать"), the last word of a phrase
 *   included;
 * - `run`: a string anywhere inside a word, for scripts written without spaces (Chinese, Japanese, Thai, Lao,
 *   Khmer, Myanmar), whose "words" are whole clauses.
 */
export type LexiconKind = "word" | "stem" | "run";

/** One entry as the model file stores it: folded form, its kind, and the concepts it expresses. */
export type LexiconEntry = { kind: LexiconKind; form: string; concepts: readonly Concept[] };

/** A place where the lexicon matched, in token positions (as `ConceptHit`s count them). */
export type LexiconHit = { concepts: readonly Concept[]; start: number; end: number };

type Phrase = { rest: readonly string[]; stem: boolean; concepts: readonly Concept[] };

/** A lexicon indexed for matching: maps from folded forms to concepts. */
export type ConceptLexicon = {
  words: Map<string, readonly Concept[]>;
  stems: Map<string, readonly Concept[]>;
  /** Lengths of the stems, ascending, so a word is looked up only at prefixes some stem has. */
  stemLengths: readonly number[];
  phrases: Map<string, Phrase[]>;
  runs: Map<string, readonly Concept[]>;
  runLengths: readonly number[];
};

/** A stem shorter than this (before its `*`) starts too many unrelated words. */
export const MIN_STEM_LENGTH = 4;
/**
 * A word in Latin letters shorter than this is a different word in too many languages, and folding makes more
 * alike: Turkish "al" (take) is read "ai", the skeleton of "a1".
 */
export const MIN_LATIN_WORD_LENGTH = 3;
/** A run shorter than this occurs by chance inside unrelated words. */
export const MIN_RUN_LENGTH = 2;
const CONCEPTS = new Set<string>(Object.keys(VOCABULARY));
/** Scripts written without spaces between words: Thai, Lao, Myanmar, Khmer, kana, CJK ideographs. */
const UNSPACED =
  /[\u0E00-\u0EFF\u1000-\u109F\u1780-\u17FF\u3040-\u30FF\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF]/;

/**
 * Fold one form written by a person ("Игнорируй*", "システムプロンプト") into the kind and folded form the matcher
 * compares with text, or a reason it cannot be used.
 */
export function foldLexiconForm(written: string): { kind: LexiconKind; form: string } | { error: string } {
  const trimmed = written.trim();
  const stem = trimmed.endsWith("*");
  const bare = stem ? trimmed.slice(0, -1) : trimmed;
  if (bare.includes("*")) return { error: "a `*` may only end a form" };
  const words = tokenize(normalizeText(bare).text)
    .filter((token) => token.kind === "word")
    .map((token) => token.word);
  if (words.length === 0) return { error: "the form has no letters" };
  // Counted as written: the tokeniser may split one written word (Catalan "sol·licituds").
  if (bare.split(/\s+/).length > 3) return { error: "a form is at most three words" };
  if (UNSPACED.test(bare)) {
    if (words.length > 1 || stem)
      return { error: "a form in a script written without spaces is one string, without spaces or `*`" };
    if ([...words[0]!].length < MIN_RUN_LENGTH)
      return { error: `a run is at least ${MIN_RUN_LENGTH} characters` };
    return { kind: "run", form: words[0]! };
  }
  if (stem && [...words.at(-1)!].length < MIN_STEM_LENGTH)
    return { error: `a stem is at least ${MIN_STEM_LENGTH} letters before its \`*\`` };
  if (words.length === 1 && /^[a-z]+$/.test(words[0]!) && words[0]!.length < MIN_LATIN_WORD_LENGTH)
    return { error: `a word in Latin letters is at least ${MIN_LATIN_WORD_LENGTH} letters` };
  return { kind: stem ? "stem" : "word", form: words.join(" ") };
}

/** The entries as the model file stores them: one per line, `kind<TAB>concept,concept<TAB>form`. */
export function serializeLexicon(entries: readonly LexiconEntry[]): string {
  return entries.map((entry) => `${entry.kind}\t${entry.concepts.join(",")}\t${entry.form}`).join("\n");
}

/** Read what `serializeLexicon` wrote; a line it did not write is an error naming the line. */
export function parseLexicon(text: string): LexiconEntry[] {
  if (text === "") return [];
  return text.split("\n").map((line, index) => {
    const [kind, concepts, form, extra] = line.split("\t");
    const names = (concepts ?? "").split(",");
    if (
      extra !== undefined ||
      !form ||
      (kind !== "word" && kind !== "stem" && kind !== "run") ||
      names.some((name) => !CONCEPTS.has(name))
    ) {
      throw new Error(`concept lexicon, line ${index + 1}: not \`kind<TAB>concepts<TAB>form\`: ${line}`);
    }
    return { kind, form, concepts: names as Concept[] };
  });
}

/** Index entries for `lexiconHits`. */
export function indexLexicon(entries: readonly LexiconEntry[]): ConceptLexicon {
  const words = new Map<string, Concept[]>();
  const stems = new Map<string, Concept[]>();
  const phrases = new Map<string, Phrase[]>();
  const runs = new Map<string, Concept[]>();
  const add = (map: Map<string, Concept[]>, key: string, concepts: readonly Concept[]) => {
    const known = map.get(key) ?? [];
    map.set(key, [...new Set([...known, ...concepts])]);
  };
  for (const { kind, form, concepts } of entries) {
    if (kind === "run") add(runs, form, concepts);
    else if (!form.includes(" ")) add(kind === "stem" ? stems : words, form, concepts);
    else {
      const [first, ...rest] = form.split(" ");
      phrases.set(first!, [...(phrases.get(first!) ?? []), { rest, stem: kind === "stem", concepts }]);
    }
  }
  const lengths = (map: Map<string, unknown>) =>
    [...new Set([...map.keys()].map((key) => key.length))].sort((a, b) => a - b);
  return { words, stems, stemLengths: lengths(stems), phrases, runs, runLengths: lengths(runs) };
}

/**
 * The lexicon's concepts in a tokenised text, in token order. A word yields each concept once however many of its
 * forms match (a stem and the whole word, or several runs inside one clause).
 */
export function lexiconHits(tokens: readonly Token[], lexicon: ConceptLexicon): LexiconHit[] {
  const hits: LexiconHit[] = [];
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index]!;
    if (token.kind !== "word") continue;
    const word = token.word;
    let found: Set<Concept> | undefined;
    const take = (concepts: readonly Concept[] | undefined) => {
      if (!concepts) return;
      found ??= new Set();
      for (const concept of concepts) found.add(concept);
    };
    take(lexicon.words.get(word));
    for (const length of lexicon.stemLengths) {
      if (length > word.length) break;
      take(lexicon.stems.get(word.slice(0, length)));
    }
    if (lexicon.runs.size > 0 && UNSPACED.test(word)) {
      for (let start = 0; start < word.length; start++)
        for (const length of lexicon.runLengths) {
          if (start + length > word.length) break;
          take(lexicon.runs.get(word.slice(start, start + length)));
        }
    }
    if (found) hits.push({ concepts: [...found], start: index, end: index + 1 });
    for (const phrase of lexicon.phrases.get(word) ?? []) {
      if (matchesRest(tokens, index + 1, phrase))
        hits.push({ concepts: phrase.concepts, start: index, end: index + 1 + phrase.rest.length });
    }
  }
  return hits;
}

function matchesRest(tokens: readonly Token[], from: number, phrase: Phrase): boolean {
  if (from + phrase.rest.length > tokens.length) return false;
  return phrase.rest.every((part, offset) => {
    const word = tokens[from + offset]!.word;
    const last = offset === phrase.rest.length - 1;
    return last && phrase.stem ? word.startsWith(part) : word === part;
  });
}

/** An entry as a person wrote it, before folding: which file and line it came from, and its language. */
export type WrittenLexiconEntry = LexiconEntry & { language: string; file: string; line: number };

/**
 * Read one written lexicon file, `concept<TAB>language<TAB>form` per line (see `data/injection/lexicon/README.md`),
 * and fold its forms. Every bad line is reported at once, by `file:line` and field.
 */
export function readWrittenLexicon(text: string, file: string): WrittenLexiconEntry[] {
  const entries: WrittenLexiconEntry[] = [];
  const errors: string[] = [];
  for (const [index, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    const where = `${file}:${index + 1}`;
    const fields = line.split("\t");
    if (fields.length !== 3) {
      errors.push(
        `${where}: expected 3 tab-separated fields (concept, language, form), found ${fields.length}`,
      );
      continue;
    }
    const [concept, language, written] = fields as [string, string, string];
    if (!CONCEPTS.has(concept)) {
      errors.push(`${where}: concept: unknown concept "${concept}"`);
      continue;
    }
    if (language.trim() === "") {
      errors.push(`${where}: language: empty`);
      continue;
    }
    const folded = foldLexiconForm(written);
    if ("error" in folded) {
      errors.push(`${where}: form "${written}": ${folded.error}`);
      continue;
    }
    entries.push({
      ...folded,
      concepts: [concept as Concept],
      language: language.trim(),
      file,
      line: index + 1,
    });
  }
  if (errors.length > 0) throw new Error(`concept lexicon: ${errors.length} bad lines\n${errors.join("\n")}`);
  return entries;
}

/** Entries with the same kind and form merged (their concepts together), in a stable order. */
export function mergeLexicon(entries: readonly LexiconEntry[]): LexiconEntry[] {
  const merged = new Map<string, { kind: LexiconKind; form: string; concepts: Set<Concept> }>();
  for (const entry of entries) {
    const key = `${entry.kind}\t${entry.form}`;
    const known = merged.get(key) ?? {
      kind: entry.kind,
      form: entry.form,
      concepts: new Set<Concept>(),
    };
    for (const concept of entry.concepts) known.concepts.add(concept);
    merged.set(key, known);
  }
  return [...merged.values()]
    .map((entry) => ({ kind: entry.kind, form: entry.form, concepts: [...entry.concepts].sort() }))
    .sort((a, b) =>
      a.form < b.form ? -1 : a.form > b.form ? 1 : a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0,
    );
}

/**
 * The entries without forms that are also English words: a Latin-script whole word or stem of another language
 * that matches a word found in at least `minTexts` English texts (`englishTexts`: how many texts each folded word
 * occurs in). Turkish "can" (soul), Romanian "date" (data) or a loanword stem like "urgen*" would otherwise give
 * English text concepts its words do not mean; where the concept is right, the rules' own vocabulary has the word.
 */
export function withoutEnglishWords(
  entries: readonly LexiconEntry[],
  englishTexts: ReadonlyMap<string, number>,
  minTexts: number,
): { kept: LexiconEntry[]; dropped: LexiconEntry[] } {
  const common = [...englishTexts].filter(([, texts]) => texts >= minTexts).map(([word]) => word);
  const commonWords = new Set(common);
  const kept: LexiconEntry[] = [];
  const dropped: LexiconEntry[] = [];
  for (const entry of entries) {
    const latin = entry.kind !== "run" && !entry.form.includes(" ") && /^[a-z'-]+$/.test(entry.form);
    const english =
      latin &&
      (entry.kind === "word"
        ? commonWords.has(entry.form)
        : common.some((word) => word.startsWith(entry.form)));
    (english ? dropped : kept).push(entry);
  }
  return { kept, dropped };
}
