/**
 * Placeholders the model reads instead of identifiers, times and numbers. Random ids carry no sign of an attack,
 * yet their character n-grams fall in arbitrary buckets: unmasked, the same A2A answer scored 0.36–0.68 depending
 * on its task id. Masked, every id is the same word, so a text's score no longer depends on which id it carries.
 */
export const ID_WORD = "keelid";
export const TIME_WORD = "keeltime";
export const NUMBER_WORD = "keelnum";
export const EMAIL_WORD = "keelemail";
export const HOST_WORD = "keelhost";

/** UUIDs, in any case, with or without braces. */
const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;
/** ISO dates and date-times (`2026-11-30`, `2026-11-30T10:22:01.120Z`), and clock times (`10:22`, `10:22:01`). */
const TIME =
  /\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b|\b\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\b/g;
const WORD = /[\p{L}\p{N}]+/gu;
/** E-mail addresses. */
const EMAIL = /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+/gu;
/** The host of a URL with a scheme (its path and query are kept: where data is put in a link is a sign). */
const URL_HOST = /\b(https?|ftp|wss?):\/\/[^\s/?#"'<>)\]]+/gi;

/**
 * The text with identifiers, timestamps and numbers replaced by fixed placeholder words, for the learned model
 * only (the rules read the text as it is). E-mail addresses and the hosts of URLs are placeholders too: an address
 * is not a sign of an attack, and the names a corpus's writers give their attackers' domains ("evil.example") would
 * otherwise teach the model a word no real attacker uses. A word counts as an identifier when it is hexadecimal with a digit
 * (hashes, trace ids), mixes letters with a digit leetspeak never uses (2, 6, 8: `a8Kf2pQx`), or is long and
 * mixes upper case, lower case and digits (base64 tokens); a word of digits is a number. Leetspeak
 * words ("1gn0r3", "pr0mp7") keep their letters, so obfuscated instructions are still read through their skeleton.
 */
export function maskIdentifiers(text: string): string {
  return text
    .replace(EMAIL, ` ${EMAIL_WORD} `)
    .replace(URL_HOST, (_, scheme: string) => `${scheme}://${HOST_WORD}`)
    .replace(UUID, ` ${ID_WORD} `)
    .replace(TIME, ` ${TIME_WORD} `)
    .replace(WORD, (word) => {
      if (/^\d+$/.test(word)) return NUMBER_WORD;
      if (!/\d/.test(word) || word.length < 6 || !/\p{L}/u.test(word)) return word;
      if (/^[0-9a-f]+$/i.test(word) || /[268]/.test(word)) return ID_WORD;
      if (word.length >= 16 && /[A-Z]/.test(word) && /[a-z]/.test(word)) return ID_WORD;
      return word;
    });
}
