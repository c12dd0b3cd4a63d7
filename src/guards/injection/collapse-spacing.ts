/** Single characters separated by single spaces: "i g n o r e". Runs are separated by two or more spaces. */
const LETTER_SPACED = /(?<![^\s])[^\s](?: [^\s]){2,}(?![^\s])/g;
/** Single characters separated by one repeated punctuation mark: "i.g.n.o.r.e", "i-g-n-o-r-e". */
const SEPARATOR_SPACED =
  /(?<![\p{L}\p{N}])[\p{L}\p{N}](?:([.\-_|*/·•,+~])[\p{L}\p{N}])(?:\1[\p{L}\p{N}]){4,}(?![\p{L}\p{N}])/gu;
/** Tokens long enough that they are probably words run together (or a blob), not one word. */
const LONG_TOKEN = /[\p{L}\p{N}_]{20,}/gu;
/** Short tokens of letters and digits: a phrase cut into fixed-size chunks ("1gn0 r341 1pr3"). */
const CHUNK = /(?:(?<![^\s])[\p{L}\p{N}]{2,6}(?![^\s])\s+){7,}[\p{L}\p{N}]{1,6}(?![^\s])/gu;

/** Text with letter-spacing collapsed, and the runs that look like words written without spaces. */
export type CollapsedSpacing = {
  text: string;
  letterSpaced: number;
  separatorSpaced: number;
  compacted: string[];
};

/**
 * Collapse letter-spacing ("i g n o r e  a l l" reads "ignore all") and separator-spacing ("i.g.n.o.r.e" reads
 * "ignore"), and collect the runs where words are written together: very long tokens and runs of short chunks
 * that mix letters and digits. Those runs are matched without word boundaries (the compact view).
 */
export function collapseSpacing(input: string): CollapsedSpacing {
  let letterSpaced = 0;
  let separatorSpaced = 0;
  let text = input;
  if (/(?:^|\s)\S \S \S(?:\s|$)/.test(text)) {
    text = text.replace(LETTER_SPACED, (run) => {
      letterSpaced += 1;
      return run.replace(/ /g, "");
    });
    if (letterSpaced > 0) text = text.replace(/ {2,}/g, " ");
  }
  text = text.replace(SEPARATOR_SPACED, (run) => {
    separatorSpaced += 1;
    return run.replace(/[^\p{L}\p{N}]/gu, "");
  });
  const compacted: string[] = [];
  for (const match of text.matchAll(LONG_TOKEN)) compacted.push(match[0]);
  for (const match of text.matchAll(CHUNK)) {
    const tokens = match[0].split(/\s+/);
    const mixed = tokens.filter((token) => /\p{N}/u.test(token) && /\p{L}/u.test(token)).length;
    const lengths = new Map<number, number>();
    for (const token of tokens) lengths.set(token.length, (lengths.get(token.length) ?? 0) + 1);
    const uniform = Math.max(...lengths.values()) / tokens.length;
    if (mixed / tokens.length >= 0.4 && uniform >= 0.7) compacted.push(tokens.join(""));
  }
  return { text, letterSpaced, separatorSpaced, compacted };
}
