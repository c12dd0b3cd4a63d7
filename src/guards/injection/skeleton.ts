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
/** `LEET` by character code below 128, for a scan without a regular expression. */
const LEET_ASCII: Array<string | undefined> = Array.from(
  { length: 128 },
  (_, code) => LEET[String.fromCharCode(code)],
);

/**
 * A word's skeleton: lower case, leetspeak digits read as the letters they stand for, and `l` and `1` read as `i`
 * (they look alike, and leetspeak uses `1` for both). Rules and text are compared by skeleton, so "1gn0r3",
 * "Ign0re" and "ignore" are the same word.
 */
export function skeleton(word: string): string {
  const lower = word.toLowerCase();
  let folded = "";
  let copied = 0;
  for (let index = 0; index < lower.length; index++) {
    const code = lower.charCodeAt(index);
    const letter = code < 128 ? LEET_ASCII[code] : code === 0x2019 ? "'" : undefined;
    if (letter === undefined) continue;
    folded += lower.slice(copied, index) + letter;
    copied = index + 1;
  }
  return copied === 0 ? lower : folded + lower.slice(copied);
}

/** True when a word mixes letters and leetspeak digits ("pr0mp7"), an obfuscation signal. */
export function isLeet(word: string): boolean {
  return /[a-z]/i.test(word) && /[013457@$]/.test(word) && !/^[0-9a-f]+$/i.test(word);
}
