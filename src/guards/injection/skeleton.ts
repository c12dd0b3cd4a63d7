const LEET: Readonly<Record<string, string>> = {
  "0": "o",
  "1": "i",
  l: "i",
  "3": "e",
  "4": "a",
  "@": "a",
  "5": "s",
  $: "s",
  "7": "t",
  "9": "g",
  "’": "'",
};
const FOLDED = /[01l3457@$9’]/g;
const FOLDABLE = /[01l3457@$9’]/;

/**
 * A word's skeleton: lower case, leetspeak digits read as the letters they stand for, and `l` and `1` read as `i`
 * (they look alike, and leetspeak uses `1` for both). Rules and text are compared by skeleton, so "1gn0r3",
 * "Ign0re" and "ignore" are the same word.
 */
export function skeleton(word: string): string {
  const lower = word.toLowerCase();
  return FOLDABLE.test(lower) ? lower.replace(FOLDED, (char) => LEET[char] ?? char) : lower;
}

/** True when a word mixes letters and leetspeak digits ("pr0mp7"), an obfuscation signal. */
export function isLeet(word: string): boolean {
  return /[a-z]/i.test(word) && /[013457@$]/.test(word) && !/^[0-9a-f]+$/i.test(word);
}
