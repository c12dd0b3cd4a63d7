import { isLeet, skeleton } from "./skeleton.ts";
import { type Token, tokenize } from "./tokenize.ts";
import { type Concept, VOCABULARY } from "./vocabulary.ts";

/** A concept, or one of the token shapes recognised without a word list. */
export type HitConcept = Concept | "url" | "exfilUrl" | "sensitiveTool";

/**
 * One place in a text that expresses one or more concepts. Word hits are measured in tokens, compact hits in
 * characters; `start`/`end` are in those units, `offset` is the character offset in the text.
 */
export type ConceptHit = {
  concepts: ReadonlySet<HitConcept>;
  start: number;
  end: number;
  offset: number;
  length: number;
  leet: boolean;
};

/** Parts of a tool name that mark it as sensitive, as skeletons (so `de1ete_a11` and `delete_all` both match). */
const SENSITIVE_STEM = new RegExp(
  [
    "secret",
    "credential",
    "password",
    "passwd",
    "token",
    "apikey",
    "api_key",
    "private_key",
    "admin",
    "sudo",
    "shell",
    "exec",
    "eval",
    "delete",
    "drop",
    "wipe",
    "purge",
    "destroy",
    "transfer",
    "grant",
    "impersonat",
    "exfil",
    "dump",
  ]
    .map((stem) => skeleton(stem))
    .join("|"),
);
const EXFIL_QUERY =
  /(?:secret|canary|token|key|passw|prompt|conversation|history|session|cookie|email|\{[^}]*\}|\$\{|\[[A-Z_]+\])/i;

type Lexicon = {
  words: Map<string, Set<Concept>>;
  /** First words of phrases, so n-grams are only built where one could start. */
  starts: Set<string>;
  longest: number;
};

function buildLexicon(): Lexicon {
  const words = new Map<string, Set<Concept>>();
  const starts = new Set<string>();
  let longest = 1;
  for (const [concept, entries] of Object.entries(VOCABULARY) as Array<[Concept, readonly string[]]>) {
    for (const entry of entries) {
      const parts = tokenize(entry).map((token) => token.word);
      if (parts.length === 0) continue;
      const key = parts.join(" ");
      if (!words.has(key)) words.set(key, new Set());
      words.get(key)!.add(concept);
      if (parts.length > 1) starts.add(parts[0]!);
      longest = Math.max(longest, parts.length);
    }
  }
  return { words, starts, longest };
}

const LEXICON = buildLexicon();

/**
 * The concepts a text's words express, in order: each known word or phrase (by skeleton), each URL (an exfiltration
 * URL when its query names secrets or holds a template), each e-mail address, and each snake_case identifier that
 * names a sensitive operation (`read_secret`, `drop_table`).
 */
export function wordHits(text: string): ConceptHit[] {
  return hitsOfTokens(tokenize(text));
}

/** The concept hits of already tokenized text (see `wordHits`). */
export function hitsOfTokens(tokens: readonly Token[]): ConceptHit[] {
  const hits: ConceptHit[] = [];
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index]!;
    if (token.kind === "url") {
      const concepts = new Set<HitConcept>(["url", "target"]);
      const query = token.raw.split("?")[1];
      if (query !== undefined && EXFIL_QUERY.test(query)) concepts.add("exfilUrl");
      hits.push(hit(concepts, index, index + 1, token.offset, token.raw.length, false));
      continue;
    }
    if (token.kind === "email") {
      hits.push(hit(new Set(["target"]), index, index + 1, token.offset, token.raw.length, false));
      continue;
    }
    const single = LEXICON.words.get(token.word);
    if (single) hits.push(hit(single, index, index + 1, token.offset, token.raw.length, isLeet(token.raw)));
    if (token.word.includes("_") && SENSITIVE_STEM.test(token.word)) {
      hits.push(
        hit(new Set(["sensitiveTool"]), index, index + 1, token.offset, token.raw.length, isLeet(token.raw)),
      );
    }
    if (!LEXICON.starts.has(token.word)) continue;
    let phrase = token.word;
    for (let size = 2; size <= LEXICON.longest && index + size <= tokens.length; size++) {
      const next = tokens[index + size - 1]!;
      phrase = `${phrase} ${next.word}`;
      const concepts = LEXICON.words.get(phrase);
      if (concepts) {
        const end = next.offset + next.raw.length;
        hits.push(hit(concepts, index, index + size, token.offset, end - token.offset, false));
      }
    }
  }
  return hits;
}

/** Concepts the compact view looks for: the ones its rules use, from words long enough not to occur by chance. */
const COMPACT_CONCEPTS: ReadonlySet<Concept> = new Set([
  "override",
  "instructions",
  "prior",
  "reveal",
  "hidden",
  "prompt",
  "secret",
  "send",
  "data",
  "target",
  "persona",
  "unrestricted",
  "approve",
  "toolCall",
  "call",
]);

/**
 * The compact view's words as a letter trie (a to z), so a run is searched in one walk per position rather than by
 * a regular expression of several hundred alternatives.
 */
type CompactTrie = {
  /** `next[node * 26 + letter]`: the child node, or 0 for none (the root is never a child). */
  next: Int32Array;
  /** The concepts of the word ending at each node, if one does. */
  concepts: Array<Set<Concept> | undefined>;
};

function buildCompact(): CompactTrie {
  const concepts = new Map<string, Set<Concept>>();
  for (const [phrase, names] of LEXICON.words) {
    const squashed = phrase.replace(/[^a-z]/g, "");
    if (squashed.length < 4) continue;
    for (const name of names) {
      if (!COMPACT_CONCEPTS.has(name)) continue;
      if (!concepts.has(squashed)) concepts.set(squashed, new Set());
      concepts.get(squashed)!.add(name);
    }
  }
  let size = 1;
  for (const word of concepts.keys()) size += word.length;
  const trie: CompactTrie = { next: new Int32Array(size * 26), concepts: new Array(size).fill(undefined) };
  let nodes = 1;
  for (const [word, names] of concepts) {
    let node = 0;
    for (let index = 0; index < word.length; index++) {
      const slot = node * 26 + word.charCodeAt(index) - 0x61;
      if (trie.next[slot] === 0) trie.next[slot] = nodes++;
      node = trie.next[slot]!;
    }
    trie.concepts[node] = names;
  }
  return trie;
}

const COMPACT = buildCompact();

/**
 * Concepts found in runs written without word boundaries ("ignoreallpreviousinstructions", chunked leetspeak):
 * the run is reduced to skeleton letters and searched for known words, positions counted in characters. At each
 * position the longest known word wins and the search goes on after it.
 */
export function compactHits(segments: readonly string[]): ConceptHit[] {
  const hits: ConceptHit[] = [];
  let base = 0;
  for (const segment of segments) {
    const letters = skeleton(segment).replace(/[^a-z]/g, "");
    let index = 0;
    while (index < letters.length) {
      let node = 0;
      let longest = 0;
      let found: Set<Concept> | undefined;
      for (let at = index; at < letters.length; at++) {
        node = COMPACT.next[node * 26 + letters.charCodeAt(at) - 0x61]!;
        if (node === 0) break;
        const concepts = COMPACT.concepts[node];
        if (concepts) {
          longest = at + 1 - index;
          found = concepts;
        }
      }
      if (found) {
        const start = base + index;
        hits.push(hit(found, start, start + longest, start, longest, false));
        index += longest;
      } else index += 1;
    }
    // A wide gap keeps rules from matching across two runs.
    base += letters.length + 1_000;
  }
  return hits;
}

function hit(
  concepts: ReadonlySet<HitConcept>,
  start: number,
  end: number,
  offset: number,
  length: number,
  leet: boolean,
): ConceptHit {
  return { concepts, start, end, offset, length, leet };
}
