import { collapseSpacing } from "./collapse-spacing.ts";
import { decodeBlobs, decodeInline } from "./decode-embedded.ts";
import { extractHidden } from "./extract-hidden.ts";
import { foldCharacters } from "./fold-characters.ts";

/** Obfuscation the normaliser undid; none is an attack alone, but each makes a matched rule more telling. */
export type ObfuscationSignal =
  | "html-entities"
  | "percent-encoding"
  | "escapes"
  | "invisible-characters"
  | "bidi-controls"
  | "homoglyphs"
  | "diacritics"
  | "letter-spacing"
  | "separator-spacing"
  | "compacted-words"
  | "encoded-blob"
  | "leetspeak"
  | "hidden-content";

/** A text as the rules read it, and the views of it that need their own pass. */
export type NormalizedText = {
  /** Decoded, folded and de-spaced; case is kept (role headers are upper case). */
  text: string;
  /** Runs written without word boundaries, for the compact view. */
  compacted: string[];
  /** Content a person would not see: comments, hidden elements, tag characters. */
  hidden: string[];
  /** Readable text decoded from base64 and hex blobs. */
  decoded: string[];
  signals: ObfuscationSignal[];
};

/**
 * The normalisation pipeline: hidden content extracted, HTML entities, percent-encoding and escapes decoded,
 * Unicode NFKC with zero-width and bidi controls removed, accents dropped and homoglyphs folded, letter- and
 * separator-spacing collapsed, words-run-together found, and base64/hex blobs decoded.
 */
export function normalizeText(input: string): NormalizedText {
  const signals = new Set<ObfuscationSignal>();
  const extracted = extractHidden(input);
  if (extracted.hidden.length > 0) signals.add("hidden-content");
  const inline = decodeInline(extracted.text);
  if (inline.entities >= 3) signals.add("html-entities");
  if (inline.percent >= 3) signals.add("percent-encoding");
  if (inline.escapes >= 3) signals.add("escapes");
  const folded = foldCharacters(inline.text);
  if (folded.invisibleRemoved > 0) signals.add("invisible-characters");
  if (folded.bidiRemoved > 0) signals.add("bidi-controls");
  if (folded.homoglyphWords > 0) signals.add("homoglyphs");
  if (folded.diacritics) signals.add("diacritics");
  const spacing = collapseSpacing(folded.text);
  if (spacing.letterSpaced > 0) signals.add("letter-spacing");
  if (spacing.separatorSpaced > 0) signals.add("separator-spacing");
  if (spacing.compacted.length > 0) signals.add("compacted-words");
  const decoded = decodeBlobs(inline.text);
  if (decoded.length > 0) signals.add("encoded-blob");
  return {
    text: spacing.text,
    compacted: spacing.compacted,
    hidden: extracted.hidden,
    decoded,
    signals: [...signals],
  };
}
