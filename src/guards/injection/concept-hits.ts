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
  /** `concepts` as bits (see `conceptBits`), so rules test a hit with a mask instead of set lookups. */
  low: number;
  high: number;
};

/** A set of concepts as two 32-bit masks: there are more concepts than one mask holds. */
export type ConceptBits = { low: number; high: number };

const CONCEPT_INDEX = new Map<HitConcept, number>(
  [
    ...(Object.keys(VOCABULARY) as Concept[]),
    "url" as const,
    "exfilUrl" as const,
    "sensitiveTool" as const,
  ].map((concept, index) => [concept, index]),
);
const BITS = new WeakMap<ReadonlySet<HitConcept>, ConceptBits>();

/** The masks of a set of concepts; a hit satisfies a step when their masks share a bit. */
export function conceptBits(concepts: Iterable<HitConcept>): ConceptBits {
  const bits = { low: 0, high: 0 };
  for (const concept of concepts) {
    const index = CONCEPT_INDEX.get(concept);
    if (index === undefined) throw new RangeError(`unknown concept ${concept}`);
    if (index < 32) bits.low |= 1 << index;
    else bits.high |= 1 << (index - 32);
  }
  return bits;
}

function bitsOf(concepts: ReadonlySet<HitConcept>): ConceptBits {
  let bits = BITS.get(concepts);
  if (!bits) {
    bits = conceptBits(concepts);
    BITS.set(concepts, bits);
  }
  return bits;
}

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

/** Phrases as a tree of words, so a phrase is followed word by word instead of built up as a string. */
type PhraseNode = { concepts: Set<Concept> | undefined; next: Map<string, PhraseNode> };

type Lexicon = {
  words: Map<string, Set<Concept>>;
  /** Phrases of two or more words, by first word: n-grams are only followed where one could start. */
  phrases: Map<string, PhraseNode>;
};

function buildLexicon(): Lexicon {
  const words = new Map<string, Set<Concept>>();
  for (const [concept, entries] of Object.entries(VOCABULARY) as Array<[Concept, readonly string[]]>) {
    for (const entry of entries) {
      const parts = tokenize(entry).map((token) => token.word);
      if (parts.length === 0) continue;
      const key = parts.join(" ");
      if (!words.has(key)) words.set(key, new Set());
      words.get(key)!.add(concept);
    }
  }
  const phrases = new Map<string, PhraseNode>();
  for (const [key, concepts] of words) {
    const [first, ...rest] = key.split(" ");
    if (rest.length === 0) continue;
    let node: PhraseNode | undefined = phrases.get(first!);
    if (!node) {
      node = { concepts: undefined, next: new Map() };
      phrases.set(first!, node);
    }
    for (const part of rest) {
      let child: PhraseNode | undefined = node.next.get(part);
      if (!child) {
        child = { concepts: undefined, next: new Map() };
        node.next.set(part, child);
      }
      node = child;
    }
    node.concepts = concepts;
  }
  return { words, phrases };
}

const LEXICON = buildLexicon();
/** The concepts of URLs, e-mail addresses and sensitive tool names: shared, since hits only read them. */
const URL_CONCEPTS: ReadonlySet<HitConcept> = new Set(["url", "target"]);
const EXFIL_URL_CONCEPTS: ReadonlySet<HitConcept> = new Set(["url", "target", "exfilUrl"]);
const TARGET_CONCEPTS: ReadonlySet<HitConcept> = new Set(["target"]);
const SENSITIVE_TOOL_CONCEPTS: ReadonlySet<HitConcept> = new Set(["sensitiveTool"]);

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
      const query = token.raw.split("?")[1];
      const concepts = query !== undefined && EXFIL_QUERY.test(query) ? EXFIL_URL_CONCEPTS : URL_CONCEPTS;
      hits.push(hit(concepts, index, index + 1, token.offset, token.raw.length, false));
      continue;
    }
    if (token.kind === "email") {
      hits.push(hit(TARGET_CONCEPTS, index, index + 1, token.offset, token.raw.length, false));
      continue;
    }
    const single = LEXICON.words.get(token.word);
    if (single) hits.push(hit(single, index, index + 1, token.offset, token.raw.length, isLeet(token.raw)));
    if (token.word.includes("_") && SENSITIVE_STEM.test(token.word)) {
      hits.push(
        hit(SENSITIVE_TOOL_CONCEPTS, index, index + 1, token.offset, token.raw.length, isLeet(token.raw)),
      );
    }
    let phrase = LEXICON.phrases.get(token.word);
    for (let size = 2; phrase && index + size <= tokens.length; size++) {
      const next = tokens[index + size - 1]!;
      phrase = phrase.next.get(next.word);
      const concepts = phrase?.concepts;
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
  const { low, high } = bitsOf(concepts);
  return { concepts, start, end, offset, length, leet, low, high };
}
