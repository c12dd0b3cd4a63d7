import { isAsciiWord, isSpace } from "./character-classes.ts";

/** Single characters separated by single spaces: "i g n o r e". Runs are separated by two or more spaces. */
const LETTER_SPACED = /(?<![^\s])[^\s](?: [^\s]){2,}(?![^\s])/g;
/** Single characters separated by one repeated punctuation mark: "i.g.n.o.r.e", "i-g-n-o-r-e". */
const SEPARATOR_SPACED =
  /(?<![\p{L}\p{N}])[\p{L}\p{N}](?:([.\-_|*/·•,+~])[\p{L}\p{N}])(?:\1[\p{L}\p{N}]){4,}(?![\p{L}\p{N}])/gu;
/** A cheap test for separator-spacing before the full pattern runs. */
const SEPARATOR_HINT = /[A-Za-z0-9]([.\-_|*/,+~])[A-Za-z0-9]\1[A-Za-z0-9]\1[A-Za-z0-9]\1[A-Za-z0-9]/;
/** `[A-Za-z0-9_]` runs this long are probably words run together (or a blob), not one word. */
const LONG_TOKEN = 20;
/** Whitespace-separated tokens of at most this many ASCII letters and digits may be chunks of a phrase. */
const CHUNK_TOKEN = 6;
/** A phrase cut into fixed-size chunks ("1gn0 r341 1pr3") is at least this many chunks long. */
const MIN_CHUNKS = 8;

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
      return run.replaceAll(" ", "");
    });
    if (letterSpaced > 0) text = text.replace(/ {2,}/g, " ");
  }
  if (SEPARATOR_HINT.test(text)) {
    text = text.replace(SEPARATOR_SPACED, (run) => {
      separatorSpaced += 1;
      return run.replace(/[^\p{L}\p{N}]/gu, "");
    });
  }
  return { text, letterSpaced, separatorSpaced, compacted: compactedRuns(text) };
}

/**
 * Long `[A-Za-z0-9_]` runs, then runs of short tokens that look like one phrase cut into chunks: mostly the same
 * length, and many mixing letters with digits (ordinary short words have no digits). One pass over the
 * whitespace-separated tokens finds both.
 */
function compactedRuns(text: string): string[] {
  const long: string[] = [];
  const runs: string[] = [];
  let run: string[] = [];
  const close = () => {
    if (run.length >= MIN_CHUNKS) {
      const mixed = run.filter((token) => /[0-9]/.test(token) && /[A-Za-z]/.test(token)).length;
      const lengths = new Map<number, number>();
      for (const token of run) lengths.set(token.length, (lengths.get(token.length) ?? 0) + 1);
      const uniform = Math.max(...lengths.values()) / run.length;
      if (mixed / run.length >= 0.4 && uniform >= 0.7) runs.push(run.join(""));
    }
    run = [];
  };
  const length = text.length;
  let index = 0;
  while (index < length) {
    if (isSpace(text.charCodeAt(index))) {
      index += 1;
      continue;
    }
    const start = index;
    let wordStart = index;
    let alphanumeric = true;
    for (; ; index++) {
      const code = text.charCodeAt(index);
      const space = index >= length || isSpace(code);
      const word = !space && isAsciiWord(code);
      if (!word) {
        if (index - wordStart >= LONG_TOKEN) long.push(text.slice(wordStart, index));
        wordStart = index + 1;
      }
      if (space) break;
      if (!word || code === 0x5f) alphanumeric = false;
    }
    if (alphanumeric && index - start <= CHUNK_TOKEN) run.push(text.slice(start, index));
    else if (run.length > 0) close();
  }
  close();
  return [...long, ...runs];
}
