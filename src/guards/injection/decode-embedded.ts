import { isUtf8 } from "node:buffer";

const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " ",
  colon: ":",
  sol: "/",
  period: ".",
  comma: ",",
  lpar: "(",
  rpar: ")",
  lsqb: "[",
  rsqb: "]",
};
const ENTITY = /&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]{2,8}));/g;
const PERCENT_RUN = /(?:%[0-9a-fA-F]{2})+/g;
const ESCAPE = /\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|u\{([0-9a-fA-F]{1,6})\})/g;
/** ASCII character kinds for the blob scan: bit 1 a base64 character (`[A-Za-z0-9+/_-]`), 2 `\w`, 4 a hex digit. */
const KIND = new Uint8Array(128);
for (let code = 0; code < 128; code++) {
  const char = String.fromCharCode(code);
  KIND[code] =
    (/[A-Za-z0-9+/_-]/.test(char) ? 1 : 0) | (/\w/.test(char) ? 2 : 0) | (/[0-9a-fA-F]/.test(char) ? 4 : 0);
}
const BASE64_RUN = 16;
const HEX_RUN = 20;

/** Reversible encodings undone in place, counted so heavy use can count as an obfuscation signal. */
export type DecodedText = { text: string; entities: number; percent: number; escapes: number };

/**
 * Undo the encodings that leave text readable to a model but not to a filter: HTML character references,
 * URL percent-encoding and `\x41`/`\u0041` escapes. Applied twice, so one layer of double encoding is undone too.
 */
export function decodeInline(input: string): DecodedText {
  let text = input;
  let entities = 0;
  let percent = 0;
  let escapes = 0;
  for (let round = 0; round < 2; round++) {
    const before = text;
    if (text.includes("&")) {
      text = text.replace(ENTITY, (match, decimal?: string, hex?: string, name?: string) => {
        const decoded =
          decimal !== undefined
            ? codePoint(Number.parseInt(decimal, 10))
            : hex !== undefined
              ? codePoint(Number.parseInt(hex, 16))
              : NAMED_ENTITIES[name!.toLowerCase()];
        if (decoded === undefined) return match;
        entities += 1;
        return decoded;
      });
    }
    if (text.includes("%")) {
      text = text.replace(PERCENT_RUN, (run) => {
        try {
          const decoded = decodeURIComponent(run);
          percent += run.length / 3;
          return decoded;
        } catch {
          return run;
        }
      });
    }
    if (text.includes("\\")) {
      text = text.replace(ESCAPE, (match, hex2?: string, hex4?: string, braced?: string) => {
        const decoded = codePoint(Number.parseInt(hex2 ?? hex4 ?? braced ?? "", 16));
        if (decoded === undefined) return match;
        escapes += 1;
        return decoded;
      });
    }
    if (text === before) break;
  }
  return { text, entities, percent, escapes };
}

/**
 * Base64 and hex blobs inside the text that decode to readable text: what a model could be told to decode and
 * follow. Blobs that decode to binary (checksums, keys, images) are not returned.
 */
export function decodeBlobs(text: string): string[] {
  const found: string[] = [];
  const hex: string[] = [];
  const length = text.length;
  let index = 0;
  while (index < length) {
    const code = text.charCodeAt(index);
    if (code >= 128 || (KIND[code]! & 1) === 0) {
      index += 1;
      continue;
    }
    // A run of base64 characters: `[A-Za-z0-9+/_-]{16,}={0,2}` matches from its start when it is long enough, and
    // `\b(?:[0-9a-fA-F]{2}){10,}\b` matches a `\w` run inside it made only of an even number of hex digits.
    const start = index;
    let wordStart = index;
    let allHex = true;
    for (; ; index++) {
      // Past the end, charCodeAt is NaN: kind 0 closes the run.
      const next = text.charCodeAt(index);
      const kind = next < 128 ? KIND[next]! : 0;
      if ((kind & 2) === 0) {
        if (allHex && index - wordStart >= HEX_RUN && (index - wordStart) % 2 === 0) {
          hex.push(text.slice(wordStart, index));
        }
        wordStart = index + 1;
        allHex = true;
      } else if ((kind & 4) === 0) allHex = false;
      if ((kind & 1) === 0) break;
    }
    if (index - start < BASE64_RUN) continue;
    let end = index;
    if (text.charCodeAt(end) === 0x3d) end += text.charCodeAt(end + 1) === 0x3d ? 2 : 1;
    const decoded = decodeBase64(text.slice(start, end));
    if (decoded !== null) found.push(decoded);
    index = end;
  }
  for (const blob of hex) {
    const decoded = readable(Buffer.from(blob, "hex"));
    if (decoded !== null) found.push(decoded);
  }
  return found;
}

function decodeBase64(blob: string): string | null {
  const body = blob.replace(/=+$/, "");
  // A run of letters with no digit, case change or symbol is a long word, not base64.
  if (!/[0-9+/_-]/.test(body) && !/[a-z][A-Z]|[A-Z][a-z]/.test(body)) return null;
  if (body.length % 4 === 1) return null;
  const bytes = Buffer.from(body.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  return readable(bytes);
}

/** The bytes as text when they are valid UTF-8 and mostly letters, digits, spaces and punctuation. */
function readable(bytes: Buffer): string | null {
  // Invalid UTF-8 would decode with replacement characters; checking first spares decoding hashes and keys.
  if (bytes.length < 8 || !isUtf8(bytes)) return null;
  const text = bytes.toString("utf8");
  if (text.includes("\uFFFD")) return null;
  let printable = 0;
  let letters = 0;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code >= 0x20 && code !== 0x7f) printable += 1;
    if (/\p{L}/u.test(char)) letters += 1;
  }
  const length = [...text].length;
  return printable / length >= 0.95 && letters / length >= 0.5 ? text : null;
}

function codePoint(value: number): string | undefined {
  if (!Number.isFinite(value) || value <= 0 || value > 0x10ffff) return undefined;
  try {
    return String.fromCodePoint(value);
  } catch {
    return undefined;
  }
}
