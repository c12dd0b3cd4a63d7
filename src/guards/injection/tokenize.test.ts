import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isLetterOrDigit, isSpace } from "./character-classes.ts";
import { skeleton } from "./skeleton.ts";
import { tokenize } from "./tokenize.ts";

/** The regular expressions the scanner replaces, kept here as the reference it must agree with. */
const TOKEN =
  /(https?:\/\/[^\s<>"'`)\]]+)|([\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+)|([\p{L}\p{M}\p{N}_$@]+(?:['’-][\p{L}\p{M}\p{N}_$@]+)*)/gu;
const TOKEN_NO_EMAIL = /(https?:\/\/[^\s<>"'`)\]]+)|()([\p{L}\p{M}\p{N}_$]+(?:['’-][\p{L}\p{M}\p{N}_$]+)*)/gu;
const ELISION = /^(?:l|d|j|n|s|c|t|m|qu|dell|all|nell|un)['’]/i;

function referenceTokenize(text: string) {
  return [...text.matchAll(text.includes("@") ? TOKEN : TOKEN_NO_EMAIL)].map((match) => {
    if (match[1] !== undefined)
      return { word: match[1].toLowerCase(), raw: match[1], offset: match.index, kind: "url" };
    if (match[2]) return { word: match[2].toLowerCase(), raw: match[2], offset: match.index, kind: "email" };
    const raw = match[3]!;
    const elided = raw.replace(ELISION, "");
    return { word: skeleton(elided), raw, offset: match.index + (raw.length - elided.length), kind: "word" };
  });
}

const FRAGMENTS = [
  "http",
  "https",
  "://",
  "h",
  "s",
  "a",
  "Z",
  "0",
  "l",
  "@",
  ".",
  "_",
  "%",
  "+",
  "-",
  "$",
  "'",
  "’",
  " ",
  "\n",
  "\u00a0",
  "\u3000",
  "<",
  ")",
  "]",
  "é",
  "İ",
  "²",
  "𝐢",
  "😀",
  "\ud800",
  "l'",
  "qu'",
  "x.com",
  "a@b.c",
  "1gn0r3",
];

describe("tokenize", () => {
  it("keeps URLs and e-mail addresses whole and reads words by skeleton without elision", () => {
    assert.deepEqual(
      tokenize("Send l'histoire to a.b@x.example via https://x.example/c?q=1 — 1gn0r3"),
      referenceTokenize("Send l'histoire to a.b@x.example via https://x.example/c?q=1 — 1gn0r3"),
    );
    assert.deepEqual(
      tokenize("l'assistant").map((token) => [token.word, token.offset]),
      [["assistant", 2]],
    );
  });

  it("splits text exactly as the regular expression it replaces does", () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    for (let round = 0; round < 20_000; round++) {
      let text = "";
      const size = Math.floor(random() * 14);
      for (let index = 0; index < size; index++) text += FRAGMENTS[Math.floor(random() * FRAGMENTS.length)];
      assert.deepEqual(tokenize(text), referenceTokenize(text), JSON.stringify(text));
    }
  });
});

describe("character classes", () => {
  it("agree with \\s and [\\p{L}\\p{N}] on every BMP code unit", () => {
    for (let code = 0; code < 0x10000; code++) {
      const char = String.fromCharCode(code);
      assert.equal(isSpace(code), /\s/.test(char), `\\s at ${code}`);
      if (code < 0xd800 || code > 0xdfff) {
        assert.equal(isLetterOrDigit(code), /^[\p{L}\p{N}]$/u.test(char), `letter or digit at ${code}`);
      }
    }
  });
});
