import { isLetterOrDigit, isSpace, isWordCharacter } from "./character-classes.ts";
import { skeleton } from "./skeleton.ts";

/** One token of a text: its skeleton (`word`), the text as written, and where it starts. */
export type Token = { word: string; raw: string; offset: number; kind: "word" | "url" | "email" };

/** French and Italian elision: "l'assistant" is the word "assistant". */
const ELISION = /^(?:l|d|j|n|s|c|t|m|qu|dell|all|nell|un)['’]/i;
/** Skeletons of words already seen, by the word as written: texts repeat their words, and a skeleton costs a copy. */
const WORDS = new Map<string, { word: string; cut: number }>();
const WORDS_LIMIT = 20_000;

/**
 * Split a text into word tokens the way rules see them: skeletons, elision removed, URLs and e-mails kept whole.
 * One pass over the text, trying at each position what the pattern
 * `(https?:\/\/[^\s<>"'`)\]]+)|([\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+)|([\p{L}\p{M}\p{N}_$@]+(?:['’-][\p{L}\p{M}\p{N}_$@]+)*)`
 * would, in the same order (the e-mail form only when the text has an `@`).
 */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const emails = text.includes("@");
  const length = text.length;
  let index = 0;
  while (index < length) {
    const code = text.charCodeAt(index);
    if (code === 0x68 && text.startsWith("http", index)) {
      const end = urlEnd(text, index);
      if (end > 0) {
        const raw = text.slice(index, end);
        tokens.push({ word: raw.toLowerCase(), raw, offset: index, kind: "url" });
        index = end;
        continue;
      }
    }
    if (emails) {
      const end = emailEnd(text, index);
      if (end > 0) {
        const raw = text.slice(index, end);
        tokens.push({ word: raw.toLowerCase(), raw, offset: index, kind: "email" });
        index = end;
        continue;
      }
    }
    const end = wordEnd(text, index);
    if (end > 0) {
      const raw = text.slice(index, end);
      const known = readWord(raw);
      tokens.push({ word: known.word, raw, offset: index + known.cut, kind: "word" });
      index = end;
      continue;
    }
    index += code >= 0xd800 && code <= 0xdbff && isLowSurrogate(text.charCodeAt(index + 1)) ? 2 : 1;
  }
  return tokens;
}

function readWord(raw: string): { word: string; cut: number } {
  const known = WORDS.get(raw);
  if (known) return known;
  const elided = raw.includes("'") || raw.includes("’") ? raw.replace(ELISION, "") : raw;
  const read = { word: skeleton(elided), cut: raw.length - elided.length };
  if (WORDS.size >= WORDS_LIMIT) WORDS.clear();
  WORDS.set(raw, read);
  return read;
}

/** End of `https?:\/\/[^\s<>"'`)\]]+` at `start`, or -1. */
function urlEnd(text: string, start: number): number {
  let index = start + 4;
  if (text.charCodeAt(index) === 0x73) index += 1;
  if (!text.startsWith("://", index)) return -1;
  index += 3;
  const from = index;
  while (index < text.length && !isUrlStop(text.charCodeAt(index))) index += 1;
  return index > from ? index : -1;
}

function isUrlStop(code: number): boolean {
  return (
    code === 0x3c ||
    code === 0x3e ||
    code === 0x22 ||
    code === 0x27 ||
    code === 0x60 ||
    code === 0x29 ||
    code === 0x5d ||
    isSpace(code)
  );
}

/** End of `[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+` at `start`, or -1. */
function emailEnd(text: string, start: number): number {
  let index = start;
  for (;;) {
    const code = text.codePointAt(index);
    if (code === undefined) return -1;
    if (
      code === 0x2e ||
      code === 0x5f ||
      code === 0x25 ||
      code === 0x2b ||
      code === 0x2d ||
      isLetterOrDigit(code)
    ) {
      index += code > 0xffff ? 2 : 1;
    } else break;
  }
  if (index === start || text.charCodeAt(index) !== 0x40) return -1;
  index = labelEnd(text, index + 1);
  if (index < 0) return -1;
  let end = -1;
  while (text.charCodeAt(index) === 0x2e) {
    const next = labelEnd(text, index + 1);
    if (next < 0) break;
    index = next;
    end = next;
  }
  return end;
}

/** End of `[\p{L}\p{N}-]+` at `start`, or -1. */
function labelEnd(text: string, start: number): number {
  let index = start;
  for (;;) {
    const code = text.codePointAt(index);
    if (code === undefined) break;
    if (code === 0x2d || isLetterOrDigit(code)) index += code > 0xffff ? 2 : 1;
    else break;
  }
  return index > start ? index : -1;
}

/** End of `[\p{L}\p{M}\p{N}_$@]+(?:['’-][\p{L}\p{M}\p{N}_$@]+)*` at `start`, or -1. */
function wordEnd(text: string, start: number): number {
  let index = runEnd(text, start);
  if (index === start) return -1;
  for (;;) {
    const code = text.charCodeAt(index);
    if (code !== 0x27 && code !== 0x2019 && code !== 0x2d) return index;
    const next = runEnd(text, index + 1);
    if (next === index + 1) return index;
    index = next;
  }
}

/** End of the run of `[\p{L}\p{M}\p{N}_$@]` at `start` (`start` itself when there is none). */
function runEnd(text: string, start: number): number {
  let index = start;
  for (;;) {
    const code = text.codePointAt(index);
    if (code === undefined) return index;
    if (code === 0x5f || code === 0x24 || code === 0x40 || isWordCharacter(code))
      index += code > 0xffff ? 2 : 1;
    else return index;
  }
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
