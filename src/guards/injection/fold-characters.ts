import { HOMOGLYPHS } from "./homoglyphs.ts";

/** Zero-width characters, soft hyphens and joiners: invisible, and used to split words a filter looks for. */
const INVISIBLE = /\u034F|[\u00AD\u180E\u200B-\u200F\u2060-\u2064\uFEFF]/g;
/** Bidirectional controls: they reorder what a reader sees without changing what a model reads. */
const BIDI = /[\u061C\u202A-\u202E\u2066-\u2069]/g;
const COMBINING_MARKS = /\p{Mn}+/gu;
const NON_ASCII = /[^\x20-\x7E\t\n\r]/;
const FOLDABLE = new RegExp(`[${Object.keys(HOMOGLYPHS).join("")}]`, "g");
/** A word mixing Latin letters with look-alikes from another script: rare in honest text. */
const MIXED_WORD = new RegExp(
  `(?=[\\p{L}]*[A-Za-z])(?=[\\p{L}]*[${Object.keys(HOMOGLYPHS).join("")}])[\\p{L}]+`,
  "gu",
);

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
 * and bidirectional controls removed, accents dropped, and Cyrillic or Greek look-alikes folded to Latin.
 */
export function foldCharacters(input: string): FoldedCharacters {
  if (!NON_ASCII.test(input)) {
    return { text: input, invisibleRemoved: 0, bidiRemoved: 0, homoglyphWords: 0, diacritics: false };
  }
  let text = input.normalize("NFKC");
  let invisibleRemoved = 0;
  let bidiRemoved = 0;
  text = text.replace(INVISIBLE, () => {
    invisibleRemoved += 1;
    return "";
  });
  text = text.replace(BIDI, () => {
    bidiRemoved += 1;
    return "";
  });
  const decomposed = text.normalize("NFD");
  const stripped = decomposed.replace(COMBINING_MARKS, "");
  const diacritics = stripped.length !== decomposed.length;
  text = stripped.normalize("NFC");
  let homoglyphWords = 0;
  if (NON_ASCII.test(text)) {
    homoglyphWords = text.match(MIXED_WORD)?.length ?? 0;
    text = text.replace(FOLDABLE, (letter) => HOMOGLYPHS[letter] ?? letter);
  }
  return { text, invisibleRemoved, bidiRemoved, homoglyphWords, diacritics };
}
