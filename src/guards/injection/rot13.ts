import type { Token } from "./tokenize.ts";

const ROT13_COMMON = new Set([
  "gur",
  "naq",
  "bs",
  "gb",
  "vf",
  "lbh",
  "sbe",
  "guvf",
  "jvgu",
  "lbhe",
  "nyy",
  "gung",
]);
const PLAIN_COMMON = new Set([
  "the",
  "and",
  "of",
  "to",
  "is",
  "you",
  "for",
  "this",
  "with",
  "your",
  "all",
  "that",
]);

/** ROT13 of the ASCII letters in a text; everything else is unchanged. */
export function rot13(text: string): string {
  return text.replace(/[A-Za-z]/g, (letter) => {
    const base = letter <= "Z" ? 65 : 97;
    return String.fromCharCode(((letter.charCodeAt(0) - base + 13) % 26) + base);
  });
}

/** ROT13 is worth reading only when the text has more ROT13-encoded common words than plain ones. */
export function looksRot13(tokens: readonly Token[]): boolean {
  let encoded = 0;
  let plain = 0;
  for (const token of tokens) {
    if (token.raw.length > 5) continue;
    const word = token.raw.toLowerCase();
    if (ROT13_COMMON.has(word)) encoded += 1;
    else if (PLAIN_COMMON.has(word)) plain += 1;
  }
  return encoded >= 2 && encoded > plain;
}
