import { isLeet, skeleton } from "../skeleton.ts";

/** One stretch of text as the model reads it: its words, and the rules' concepts found in it. */
export type LearnedView = { words: string[]; concepts: string[] };

/** A sparse, L2-normalised feature vector: bucket indices and their values, in step. */
export type HashedFeatures = { indices: Uint32Array; values: Float32Array };

const WORD = /[\p{L}\p{M}\p{N}]+/gu;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** Salts that keep words, word pairs and character n-grams from sharing buckets by construction. */
const WORD_SALT = 0x9e3779b1;
const PAIR_SALT = 0x85ebca77;
const CONCEPT_SALT = 0xc2b2ae3d;
/**
 * Concepts count double and character n-grams half, against a word's one: a text yields a few concepts, a few
 * dozen words and hundreds of n-grams, and the concepts are what carries across paraphrases and languages.
 */
const CONCEPT_WEIGHT = 2;
const CHARACTER_WEIGHT = 0.5;

/**
 * The words of a normalised text as the model reads them: lower case, with leetspeak words read through their
 * skeleton ("1gn0r3" is "ignore"); other words keep their letters, so "hello" stays "hello".
 */
export function modelWords(text: string): string[] {
  const words: string[] = [];
  for (const match of text.toLowerCase().matchAll(WORD)) {
    const word = match[0];
    words.push(isLeet(word) ? skeleton(word) : word);
  }
  return words;
}

/**
 * Hash a view's words, adjacent word pairs, concepts and concept pairs, and character 3- to 5-grams (over the words joined by single spaces,
 * which also covers scripts written without spaces) into `buckets` buckets. Each occurrence counts once; the
 * vector is L2-normalised so sentences and paragraphs weigh alike (a text of a few words is scaled less). Hashes are computed on character codes as they
 * are read, without building the n-gram strings.
 */
export function hashFeatures(view: LearnedView, buckets: number): HashedFeatures {
  const { words, concepts } = view;
  const mask = buckets - 1;
  if (scratch.length !== buckets) scratch = new Float64Array(buckets);
  const counts = scratch;
  let touched = 0;
  const add = (hash: number, weight: number) => {
    const bucket = hash & mask;
    if (counts[bucket] === 0) {
      if (touched === seen.length) {
        const grown = new Uint32Array(seen.length * 2);
        grown.set(seen);
        seen = grown;
      }
      seen[touched++] = bucket;
    }
    counts[bucket]! += weight;
  };
  let previous = 0;
  for (let position = 0; position < words.length; position++) {
    const word = words[position]!;
    let hash = FNV_OFFSET ^ WORD_SALT;
    for (let index = 0; index < word.length; index++)
      hash = Math.imul(hash ^ word.charCodeAt(index), FNV_PRIME);
    add(hash >>> 0, 1);
    if (position > 0) add(Math.imul(previous ^ PAIR_SALT, FNV_PRIME) ^ hash, 1);
    previous = hash;
  }
  for (const concept of concepts) {
    let hash = FNV_OFFSET ^ CONCEPT_SALT;
    for (let index = 0; index < concept.length; index++)
      hash = Math.imul(hash ^ concept.charCodeAt(index), FNV_PRIME);
    add(hash >>> 0, CONCEPT_WEIGHT);
  }
  const joined = ` ${words.join(" ")} `;
  for (let start = 0; start + 3 <= joined.length; start++) {
    let hash = FNV_OFFSET;
    for (let length = 1; length <= 5 && start + length <= joined.length; length++) {
      hash = Math.imul(hash ^ joined.charCodeAt(start + length - 1), FNV_PRIME);
      if (length >= 3) add((hash ^ length) >>> 0, CHARACTER_WEIGHT);
    }
  }
  const indices = seen.slice(0, touched);
  const values = new Float32Array(touched);
  let norm = 0;
  for (let slot = 0; slot < touched; slot++) {
    const count = counts[indices[slot]!]!;
    values[slot] = count;
    norm += count * count;
    counts[indices[slot]!] = 0;
  }
  const scale = 1 / Math.sqrt(Math.max(norm, MIN_NORM_SQUARED));
  for (let index = 0; index < values.length; index++) values[index]! *= scale;
  return { indices, values };
}

/**
 * The squared norm below which a vector is not scaled up: about a ten-word sentence. A text of two words ("and
 * O-500?") carries too little evidence to be scored as confidently as a sentence, so its features stay small and
 * its score stays near the prior.
 */
const MIN_NORM_SQUARED = 64;

/**
 * Counts per bucket while one view is hashed, and the buckets touched; reused across calls (and left zeroed) so
 * hashing allocates nothing per n-gram.
 */
let scratch = new Float64Array(0);
let seen = new Uint32Array(1_024);
