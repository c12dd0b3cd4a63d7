import { HOMOGLYPHS } from "./homoglyphs.ts";

/** Zero-width characters, soft hyphens and joiners: invisible, and used to split words a filter looks for. */
const INVISIBLE = /\u034F|[\u00AD\u180E\u200B-\u200F\u2060-\u2064\uFEFF]/g;
/** Bidirectional controls: they reorder what a reader sees without changing what a model reads. */
const BIDI = /[\u061C\u202A-\u202E\u2066-\u2069]/g;
/** Accents: combining marks on a letter, dropped unless the letter's script writes its vowels as marks. */
const COMBINING_MARKS = /(\P{M})(\p{Mn}+)/gu;
/**
 * Scripts whose words carry their vowels and voicing as combining marks (Indic, Thai and Lao, Tibetan, Myanmar,
 * Khmer, kana): dropping those marks would not remove an accent but rewrite the word.
 */
const MARKED_SCRIPTS = /[\u0900-\u0DFF\u0E00-\u0EFF\u0F00-\u0FFF\u1000-\u109F\u1780-\u17FF\u3040-\u30FF]/;
const NON_ASCII = /[^\x20-\x7E\t\n\r]/;
const FOLDABLE = new RegExp(`[${Object.keys(HOMOGLYPHS).join("")}]`, "g");
/** A word mixing Latin letters with look-alikes from another script: rare in honest text. */
const MIXED_WORD = new RegExp(
  `(?=[\\p{L}]*[A-Za-z])(?=[\\p{L}]*[${Object.keys(HOMOGLYPHS).join("")}])[\\p{L}]+`,
  "gu",
);

/** Whole words (and stray symbols) that contain a character outside printable ASCII: the only parts folding changes. */
const NON_ASCII_WORD = /[A-Za-z0-9]*[^\x20-\x7E\t\n\r]+(?:[A-Za-z0-9]+[^\x20-\x7E\t\n\r]+)*[A-Za-z0-9]*/g;
const LETTERS = /\p{L}/gu;
const FOLDABLE_TEST = new RegExp(`[${Object.keys(HOMOGLYPHS).join("")}]`);

/** What folding changed, so the detector can count obfuscation as a signal. */
export type FoldedCharacters = {
  text: string;
  invisibleRemoved: number;
  bidiRemoved: number;
  homoglyphWords: number;
  diacritics: boolean;
};

/**
 * Fold text to the letters a reader sees: Unicode NFKC (full-width and mathematical letters become ASCII), zero-width
 * and bidirectional controls removed, accents dropped, and Cyrillic or Greek look-alikes folded to Latin. Only words
 * holding a non-ASCII character are touched, so mostly-ASCII documents cost little.
 */
export function foldCharacters(input: string): FoldedCharacters {
  const result: FoldedCharacters = {
    text: input,
    invisibleRemoved: 0,
    bidiRemoved: 0,
    homoglyphWords: 0,
    diacritics: false,
  };
  if (!NON_ASCII.test(input)) return result;
  result.text = input.replace(NON_ASCII_WORD, (word) => foldWord(word, result));
  return result;
}

/** What folding one word gives and counts: the same word always folds the same way. */
type FoldedWord = {
  text: string;
  invisible: number;
  bidi: number;
  homoglyphWords: number;
  diacritics: boolean;
};
/** Words already folded: texts repeat their non-ASCII words, and each fold runs three Unicode normalisations. */
const FOLDED_WORDS = new Map<string, FoldedWord>();
const FOLDED_WORDS_LIMIT = 10_000;

function foldWord(word: string, counts: FoldedCharacters): string {
  let folded = FOLDED_WORDS.get(word);
  if (!folded) {
    const fresh: FoldedCharacters = {
      text: "",
      invisibleRemoved: 0,
      bidiRemoved: 0,
      homoglyphWords: 0,
      diacritics: false,
    };
    const text = foldFresh(word, fresh);
    folded = {
      text,
      invisible: fresh.invisibleRemoved,
      bidi: fresh.bidiRemoved,
      homoglyphWords: fresh.homoglyphWords,
      diacritics: fresh.diacritics,
    };
    if (FOLDED_WORDS.size >= FOLDED_WORDS_LIMIT) FOLDED_WORDS.clear();
    FOLDED_WORDS.set(word, folded);
  }
  counts.invisibleRemoved += folded.invisible;
  counts.bidiRemoved += folded.bidi;
  counts.homoglyphWords += folded.homoglyphWords;
  if (folded.diacritics) counts.diacritics = true;
  return folded.text;
}

function foldFresh(word: string, counts: FoldedCharacters): string {
  let text = word.normalize("NFKC");
  text = text.replace(INVISIBLE, () => {
    counts.invisibleRemoved += 1;
    return "";
  });
  text = text.replace(BIDI, () => {
    counts.bidiRemoved += 1;
    return "";
  });
  const decomposed = text.normalize("NFD");
  const stripped = decomposed.replace(COMBINING_MARKS, (marked, letter: string) =>
    MARKED_SCRIPTS.test(letter) ? marked : letter,
  );
  if (stripped.length !== decomposed.length) counts.diacritics = true;
  text = stripped.normalize("NFC");
  if (FOLDABLE_TEST.test(text) && imitatesLatin(text)) {
    if (/[A-Za-z]/.test(text)) counts.homoglyphWords += text.match(MIXED_WORD)?.length ?? 0;
    text = text.replace(FOLDABLE, (letter) => HOMOGLYPHS[letter] ?? letter);
  }
  return text;
}

/**
 * Whether a word's look-alike letters stand in for Latin ones: it mixes them with Latin letters ("ѕуѕtеm"), or all
 * its letters have a Latin look-alike ("рор"). A word with a letter no Latin one resembles ("инструкции",
 * "οδηγίες") is written in its own script and keeps it, so Russian or Greek text stays readable as itself.
 */
function imitatesLatin(word: string): boolean {
  if (/[A-Za-z]/.test(word)) return true;
  for (const letter of word.match(LETTERS) ?? []) if (HOMOGLYPHS[letter] === undefined) return false;
  return true;
}
