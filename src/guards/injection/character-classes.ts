/**
 * Character classes tested one code point at a time, so the scanners can walk a text once instead of running a
 * Unicode regular expression from every position. Each agrees exactly with the regular-expression class it names.
 */

const LETTER_OR_DIGIT = /^[\p{L}\p{N}]$/u;
/** Per BMP code unit: 0 not yet known, 1 a letter or digit, 2 neither. Filled on first sight of each character. */
const KNOWN = new Uint8Array(0x10000);
for (let code = 0; code < 0x80; code++) {
  const ascii =
    (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
  KNOWN[code] = ascii ? 1 : 2;
}

/** True when the code point is in `[\p{L}\p{N}]` (a letter or number in any script). */
export function isLetterOrDigit(code: number): boolean {
  return inClass(code, KNOWN, LETTER_OR_DIGIT);
}

const MARK = /^\p{M}$/u;
/** Per BMP code unit, as `KNOWN`, for `\p{M}`; no ASCII character is a mark. */
const KNOWN_MARKS = new Uint8Array(0x10000);
KNOWN_MARKS.fill(2, 0, 0x80);

/**
 * True when the code point is in `[\p{L}\p{M}\p{N}]`: a letter, number or combining mark. Words in Indic and
 * South-East Asian scripts carry their vowels as marks, so a word there runs on through them.
 */
export function isWordCharacter(code: number): boolean {
  return inClass(code, KNOWN, LETTER_OR_DIGIT) || inClass(code, KNOWN_MARKS, MARK);
}

/** Whether a code point matches a one-character class, remembered per BMP code unit in `known`. */
function inClass(code: number, known: Uint8Array, pattern: RegExp): boolean {
  if (code >= 0x10000) return pattern.test(String.fromCodePoint(code));
  const seen = known[code]!;
  if (seen !== 0) return seen === 1;
  const answer = pattern.test(String.fromCharCode(code));
  known[code] = answer ? 1 : 2;
  return answer;
}

/** True when the UTF-16 code unit is in JavaScript's `\s` (white space and line terminators). */
export function isSpace(code: number): boolean {
  if (code < 0x80) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  return (
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

/** True when the UTF-16 code unit is in `[A-Za-z0-9_]` (`\w` without the `u` flag). */
export function isAsciiWord(code: number): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) ||
    (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x30 && code <= 0x39) ||
    code === 0x5f
  );
}
