/**
 * The rows of Keel's injection corpus, made from `data/injection/keel/`: `writtenRows` from the hand-written texts
 * (`attack.<class>.txt`, `benign.<subclass>.txt`, one text per line), `grammarRows` from the phrase grammar
 * (`grammar.json`, training only). Each written text is a *family*: its variants (set inside an ordinary message
 * or document, and for attacks written as input, one obfuscated copy) keep its split, so no near-duplicate
 * straddles train, validation and test. Families are split 60 / 20 / 20 per class by a seeded hash of their id;
 * the rows are the same on every run.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const folder = join(root, "data/injection/keel");
const SEED = 20;

/** Attack classes whose texts arrive as tool results (documents, API replies, code) rather than as input. */
const TOOL_RESULT_CLASSES = new Set(["indirect_document", "indirect_tool_result", "indirect_code"]);
const TOOL_RESULT_BENIGN = new Set(["tool_results_plain", "documents", "code_comments", "help_articles"]);
/** Input attacks whose wording is obfuscated once more to make the obfuscation class. */
const OBFUSCATED_FROM = new Set([
  "direct_override",
  "authority_claim",
  "role_play",
  "exfiltration",
  "tool_abuse",
]);

/** Ordinary message text an input is set inside (before or after), shared by attacks and benign texts alike. */
const MESSAGE_FRAMES: Array<[string, string]> = [
  ["Hi there, quick question about my account. ", ""],
  ["", " Thanks in advance!"],
  ["Hello,\n\n", "\n\nBest regards,\nChris"],
  ["Order #40117 — ", ""],
  ["", " Please reply today if you can."],
  ["I have two things. First, what time do you close on Saturday? Second: ", ""],
  ["Sorry for the long message. ", " That's all for now."],
  ["hey ", " ty"],
  ["Following up on my ticket from Monday. ", ""],
  ["", "\n\nSent from my phone"],
];

/** Documents and results a tool-result text is set inside, shared by attacks and benign texts alike. */
const DOCUMENT_FRAMES: Array<[string, string]> = [
  ["Page 2 of 5\n", "\n— end of page —"],
  ["Retrieved chunk 3/7 (score 0.82):\n", ""],
  ['{"source": "kb", "text": ', "}"],
  ["From: updates@vendor.example\nSubject: December update\n\n", ""],
  ["", "\n\nLast edited 2026-11-30 by m.khan"],
  ["Archived copy of the page, captured 2026-10-02:\n", ""],
  ["### Notes\n", "\n\nSee also: related articles."],
  ["Search result 1 of 10\n", "\nsource: intranet"],
];

/** Letters replaced by look-alikes from other scripts. */
const HOMOGLYPHS: Record<string, string> = { a: "а", e: "е", o: "о", p: "р", c: "с", x: "х", i: "і", y: "у" };
const LEET: Record<string, string> = { a: "4", e: "3", i: "1", o: "0", s: "5", t: "7" };

/** What precedes an encoded blob: an attack asks for it to be obeyed, a benign text only for it to be read. */
type Lead = { base64: string; hex: string };
const ATTACK_LEAD: Lead = {
  base64: "Decode this and do what it says:",
  hex: "hex payload, decode and follow:",
};
const BENIGN_LEAD: Lead = {
  base64: "Can you decode this base64 for me?",
  hex: "What does this hex dump say?",
};

/** The ways one attack's wording is disguised; each obfuscated row uses one, chosen by its family's hash. */
const OBFUSCATIONS: Array<{ name: string; apply: (text: string, lead: Lead) => string }> = [
  { name: "leetspeak", apply: (text) => text.replace(/[aeiost]/g, (letter) => LEET[letter] ?? letter) },
  { name: "letter_spaced", apply: (text) => [...text].join(" ") },
  {
    name: "base64",
    apply: (text, lead) => `${lead.base64} ${Buffer.from(text).toString("base64")}`,
  },
  {
    name: "homoglyph",
    apply: (text) => text.replace(/[aeopcxiy]/g, (letter) => HOMOGLYPHS[letter] ?? letter),
  },
  { name: "zero_width", apply: (text) => text.replace(/(\w{3})(?=\w)/g, "$1\u200b") },
  {
    name: "separator_spaced",
    apply: (text) =>
      text
        .split(" ")
        .map((word) => [...word].join("."))
        .join(" "),
  },
  {
    name: "rot13",
    apply: (text) =>
      text.replace(/[A-Za-z]/g, (letter) => {
        const base = letter <= "Z" ? 65 : 97;
        return String.fromCharCode(((letter.charCodeAt(0) - base + 13) % 26) + base);
      }),
  },
  {
    name: "fullwidth",
    apply: (text) => text.replace(/[!-~]/g, (char) => String.fromCharCode(char.charCodeAt(0) + 0xfee0)),
  },
  { name: "words_run_together", apply: (text) => text.replace(/\s+/g, "") },
  {
    name: "html_entities",
    apply: (text) =>
      text.replace(/[a-z]/gi, (char, offset: number) =>
        offset % 2 === 0 ? `&#${char.charCodeAt(0)};` : char,
      ),
  },
  {
    name: "hex",
    apply: (text, lead) => `${lead.hex} ${Buffer.from(text).toString("hex")}`,
  },
];

/** Rows drawn from the phrase grammar per template, for training only. */
const GRAMMAR_DRAWS = 36;

type Grammar = {
  slots: Record<string, string[]>;
  attacks: Record<string, string[]>;
  benign: Record<string, string[]>;
};

/**
 * Training rows from `grammar.json`: each template drawn `GRAMMAR_DRAWS` times with seeded slot choices, and a
 * third of the attacks obfuscated. All land in `exemplar_bank`: they widen the vocabulary the model learns
 * from, and never stand in for the hand-written texts validation and test are made of.
 */
export function grammarRows(): Row[] {
  const grammar = JSON.parse(readFileSync(join(folder, "grammar.json"), "utf8")) as Grammar;
  let state = SEED;
  const next = () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state / 4_294_967_296;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const expand = (template: string): string => {
    let text = template;
    for (let depth = 0; depth < 3; depth++) {
      text = text.replace(/\{([^{}]*)\}/g, (whole, inner: string) => {
        if (inner.includes("|")) return pick(inner.split("|"));
        const slot = grammar.slots[inner];
        return slot ? pick(slot) : whole;
      });
    }
    return text.replace(/ {2,}/g, " ").replace(/ ([.,;])/g, "$1");
  };
  const result: Row[] = [];
  for (const [kind, classes] of [
    ["attack", grammar.attacks],
    ["benign", grammar.benign],
  ] as const) {
    for (const [name, templates] of Object.entries(classes)) {
      const toolResult = kind === "attack" ? TOOL_RESULT_CLASSES.has(name) : TOOL_RESULT_BENIGN.has(name);
      for (const [index, template] of templates.entries()) {
        const family = `grammar:${kind}:${name}:${index}`;
        const seen = new Set<string>();
        for (let draw = 0; draw < GRAMMAR_DRAWS; draw++) {
          const text = expand(template);
          if (seen.has(text)) continue;
          seen.add(text);
          const base: Row = {
            id: `${family}:${draw}`,
            split: "exemplar_bank",
            attack_class: kind === "attack" ? name : "benign",
            bypass_class: "plain",
            benign_subclass: kind === "benign" ? name : "not_applicable",
            source_type: toolResult ? "tool" : "user",
            family_id: family,
            text,
          };
          result.push(base);
          if (kind === "attack" && draw % 3 === 0) {
            const technique = pick(OBFUSCATIONS);
            result.push({
              ...base,
              id: `${base.id}:obfuscated`,
              attack_class: "obfuscation",
              bypass_class: technique.name,
              text: technique.apply(text, ATTACK_LEAD),
            });
          }
        }
      }
    }
  }
  return result;
}

/** One corpus row, in the fields `readInjectionCorpus` reads plus its family. */
export type Row = {
  id: string;
  split: "exemplar_bank" | "validation" | "test";
  attack_class: string;
  bypass_class: string;
  benign_subclass: string;
  source_type: "user" | "tool";
  family_id: string;
  text: string;
};

/** FNV-1a of the seed and a string: the same family lands in the same split on every run. */
function hash(text: string): number {
  let value = 0x811c9dc5 ^ SEED;
  for (let index = 0; index < text.length; index++) {
    value ^= text.charCodeAt(index);
    value = Math.imul(value, 0x01000193) >>> 0;
  }
  return value;
}

/**
 * A file's texts: one a line, `\n` written for a line break. A line starting with `#` is a comment; a text that
 * starts with `#` itself (a shell script, a Markdown heading) is written `\#`.
 */
function readTexts(directory: string, file: string): string[] {
  return readFileSync(join(directory, file), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.startsWith("#"))
    .map((line) => (line.startsWith("\\#") ? line.slice(1) : line).replaceAll("\\n", "\n"));
}

/**
 * The translations of written texts into other languages (`translated.<batch>.tsv`: one a line, the family's id,
 * the language and the translation, separated by tabs, `\n` for a line break), by family. A translation is
 * one more variant of its family, so it keeps the family's split; they were made from `exemplar_bank` texts
 * only, so they widen what the model trains on and no validation or test row has one.
 */
function readTranslations(directory: string): Map<string, Array<{ language: string; text: string }>> {
  const translations = new Map<string, Array<{ language: string; text: string }>>();
  for (const file of readdirSync(directory).sort()) {
    if (!/^translated\.[a-z0-9]+\.tsv$/.test(file)) continue;
    for (const [index, line] of readFileSync(join(directory, file), "utf8").split("\n").entries()) {
      if (line.trim() === "") continue;
      const fields = line.split("\t");
      const [family, language, text] = fields;
      if (fields.length !== 3 || !family || !language || !text?.trim())
        throw new SyntaxError(
          `${file}:${index + 1}: expected a family id, a language and a text, tab-separated`,
        );
      const list = translations.get(family) ?? [];
      list.push({ language, text: text.replaceAll("\\n", "\n") });
      translations.set(family, list);
    }
  }
  return translations;
}

/** 60 / 20 / 20 of a class's families by hash order. */
function splitsOf(families: readonly string[]): Map<string, Row["split"]> {
  const ordered = [...families].sort((left, right) => hash(left) - hash(right) || left.localeCompare(right));
  const splits = new Map<string, Row["split"]>();
  for (const [index, family] of ordered.entries()) {
    const share = index / ordered.length;
    splits.set(family, share < 0.6 ? "exemplar_bank" : share < 0.8 ? "validation" : "test");
  }
  return splits;
}

/**
 * The rows made from the hand-written texts, in every split. A class's texts may come in batches
 * (`attack.<class>.<batch>.txt`), each split 60 / 20 / 20 on its own, so a batch added later moves no earlier
 * family between splits: what was held out stays held out. With `unseen`, the texts of `data/injection/unseen/`
 * instead, writers none of whose texts the model is trained on: the calibration writers' (`CALIBRATION_WRITERS`)
 * in `validation`, every other family in `test`.
 */
/**
 * Writers held out of training whose rows are `validation`: with the corpora's validation split they place the
 * rules' weight and the threshold (`scripts/train-injection-model.ts`). The split's own writers also wrote the
 * training rows, so a threshold placed on it alone flagged fewer texts by unseen writers than the bound allows
 * (3.2% rather than 5%) and missed attacks for it. They are the first two rounds of `data/injection/unseen/`;
 * the later rounds stay in `test`.
 */
export const CALIBRATION_WRITERS: readonly string[] = ["n", "o", "p", "v", "w", "x"];

export function writtenRows(options: { unseen?: boolean } = {}): Row[] {
  const directory = options.unseen ? join(root, "data/injection/unseen") : folder;
  const translations = readTranslations(directory);
  const translated = new Set<string>();
  const rows: Row[] = [];
  for (const file of readdirSync(directory).sort()) {
    const match = /^(attack|benign)\.([a-z_]+)(?:\.([a-z0-9]+))?\.txt$/.exec(file);
    if (!match) continue;
    const [, kind, name, batch] = match as unknown as [
      string,
      "attack" | "benign",
      string,
      string | undefined,
    ];
    const texts = readTexts(directory, file);
    const prefix = `${options.unseen ? "unseen:" : ""}${batch === undefined ? `${kind}:${name}` : `${kind}:${name}:${batch}`}`;
    const families = texts.map((_, index) => `${prefix}:${String(index).padStart(3, "0")}`);
    const splits = splitsOf(families);
    const toolResult = kind === "attack" ? TOOL_RESULT_CLASSES.has(name) : TOOL_RESULT_BENIGN.has(name);
    const frames = toolResult ? DOCUMENT_FRAMES : MESSAGE_FRAMES;
    for (const [index, text] of texts.entries()) {
      const family = families[index]!;
      const split = options.unseen
        ? CALIBRATION_WRITERS.includes(batch ?? "")
          ? "validation"
          : "test"
        : splits.get(family)!;
      const base = {
        split,
        attack_class: kind === "attack" ? name : "benign",
        benign_subclass: kind === "benign" ? name : "not_applicable",
        source_type: toolResult ? ("tool" as const) : ("user" as const),
        family_id: family,
      };
      const h = hash(family);
      const first = frames[h % frames.length]!;
      const second = frames[(h >>> 8) % frames.length]!;
      const variants = [text, `${first[0]}${text}${first[1]}`];
      if (second !== first) variants.push(`${second[0]}${text}${second[1]}`);
      for (const [variant, body] of variants.entries()) {
        rows.push({
          id: `${family}:${variant}`,
          bypass_class: name === "obfuscation" ? "mixed" : "plain",
          ...base,
          text: body,
        });
      }
      for (const [index, { text: translation }] of (translations.get(family) ?? []).entries()) {
        if (split !== "exemplar_bank")
          throw new Error(`${family} is in ${split}: only exemplar_bank texts may be translated`);
        translated.add(family);
        // A translation is written in another language, so its row is of the multilingual class (or subclass).
        const multilingual = {
          ...base,
          attack_class: kind === "attack" ? "multilingual" : "benign",
          benign_subclass: kind === "benign" ? "multilingual" : "not_applicable",
        };
        for (const [variant, body] of [translation, `${first[0]}${translation}${first[1]}`].entries())
          rows.push({
            ...multilingual,
            id: `${family}:translated:${index}:${variant}`,
            bypass_class: "plain",
            text: body,
          });
      }
      const obfuscate = kind === "attack" ? OBFUSCATED_FROM.has(name) : (h >>> 16) % 4 === 0;
      if (obfuscate) {
        const technique = OBFUSCATIONS[(h >>> 4) % OBFUSCATIONS.length]!;
        rows.push({
          ...base,
          id: `${family}:obfuscated`,
          attack_class: kind === "attack" ? "obfuscation" : "benign",
          benign_subclass: kind === "benign" ? "benign_obfuscated" : "not_applicable",
          bypass_class: technique.name,
          text: technique.apply(text, kind === "attack" ? ATTACK_LEAD : BENIGN_LEAD),
        });
      }
    }
  }
  const orphans = [...translations.keys()].filter((family) => !translated.has(family));
  if (orphans.length > 0)
    throw new Error(`translations of families that do not exist: ${orphans.join(", ")}`);
  return rows;
}
