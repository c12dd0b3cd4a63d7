import { passportMrzValid } from "./check-digits.ts";
import type { Candidate, Detector } from "./detector.ts";

/**
 * Passport number formats of the main issuing countries, as their issuing authorities publish them. None is
 * distinctive alone — nine digits, or two letters and seven digits, are also order, part and booking numbers —
 * so a number is a passport number only next to a passport word (below); the printed numbers carry no check
 * digit (the MRZ does, and is checked there).
 */
export const PASSPORT_FORMATS: readonly { countries: string; rule: string; pattern: RegExp }[] = [
  { countries: "US, UK, Russia (series and number)", rule: "9 digits", pattern: /^\d{9}$/ },
  { countries: "Russia", rule: "2-digit series, space, 7 digits", pattern: /^\d{2} \d{7}$/ },
  {
    countries: "US (since 2021), China, Mexico, South Korea",
    rule: "1 letter and 8 digits",
    pattern: /^[A-Z]\d{8}$/,
  },
  { countries: "China (since 2019)", rule: "E, a letter and 7 digits", pattern: /^E[A-HJ-NP-Z]\d{7}$/ },
  { countries: "India, Australia, Switzerland", rule: "1 letter and 7 digits", pattern: /^[A-Z]\d{7}$/ },
  {
    countries: "Japan, Italy, Australia, Ireland, Poland",
    rule: "2 letters and 7 digits",
    pattern: /^[A-Z]{2}\d{7}$/,
  },
  { countries: "Canada, Brazil", rule: "2 letters and 6 digits", pattern: /^[A-Z]{2}\d{6}$/ },
  { countries: "Spain", rule: "3 letters and 6 digits", pattern: /^[A-Z]{3}\d{6}$/ },
  { countries: "France", rule: "2 digits, 2 letters, 5 digits", pattern: /^\d{2}[A-Z]{2}\d{5}$/ },
  {
    countries: "Germany",
    rule: "9 characters from C F G H J K L M N P R T V W X Y Z and digits, first C F G H J K",
    pattern: /^[CFGHJK][CFGHJKLMNPRTVWXYZ0-9]{8}$/,
  },
  {
    countries: "Netherlands",
    rule: "2 letters (no O), 6 letters or digits, 1 digit",
    pattern: /^[A-NP-Z]{2}[A-NP-Z0-9]{6}\d$/,
  },
];

/**
 * Words that name a passport, in the languages of those countries. "Pass" alone is not one (password, boarding
 * pass); "Pass-Nr." and "Passnummer" are.
 */
const PASSPORT_WORD =
  /passport|pass-?\s?nr\b|pass-?nummer|reisepass|passeport|pasaporte|passaporto|passaporte|paspoort|paszport|passi\b|pasaport|pasport|паспорт|護照|护照|旅券|パスポート|여권|पासपोर्ट|جواز\s?السفر|travel\s+document/i;
const PASSPORT_WORD_BEFORE = new RegExp(`(?:${PASSPORT_WORD.source})[^\\n]{0,30}(?:\\r?\\n[ \\t]*)?$`, "i");
/** A label between the passport word and the number that says the number is something else. */
const OTHER_IDENTIFIER =
  /\b(?:order|invoice|booking|reservation|ticket|flight|sku|ref|reference|pnr|confirmation|tracking|phone|tel|fax|case|application|receipt|visa)\b/i;

function nextToPassportWord({ text, start, end }: Candidate): boolean {
  const before = text.slice(Math.max(0, start - 40), start);
  const label = PASSPORT_WORD_BEFORE.exec(before);
  if (label) return !OTHER_IDENTIFIER.test(label[0].replace(PASSPORT_WORD, ""));
  return /^[\s)]{0,2}\(?(?:passport|reisepass|passeport|pasaporte)\b/i.test(text.slice(end, end + 16));
}

/** A passport word and at most a "number" word and punctuation: `Passport No.:`, `"passport_no": "`, `护照号码：`. */
const PASSPORT_LABEL_JUST_BEFORE = new RegExp(
  `(?:${PASSPORT_WORD.source})[\\s"'_:=#：.-]*(?:no|nr|num|number|numbers|id|n°|nº|№|numéro|número|numero|nummer|номер|番号|号码|號碼|번호)?[\\s"'_:=#：.-]*$`,
  "i",
);

/**
 * A passport number: one of the formats above, next to a passport word (within 40 characters before it on the
 * same line or the line above, with no other identifier's label in between, or just after it: "X1234567
 * (passport)"). Formats of other countries (Sweden's 8 digits, Singapore's E1234567A …) are taken only right after
 * the label: 6 to 10 letters and digits, at least 5 of them digits.
 */
const passportNumber: Detector = {
  type: "passport",
  class: "pii",
  pattern: /(?<![\p{L}\p{N}_-])(?:\d{2} \d{7}|[A-Z0-9]{6,10})(?![\p{L}\p{N}_-])/gu,
  hint: PASSPORT_WORD,
  validate: (candidate) => {
    if (PASSPORT_FORMATS.some((format) => format.pattern.test(candidate.value))) {
      return /\d/.test(candidate.value) && nextToPassportWord(candidate);
    }
    const { text, start, value } = candidate;
    return (
      (value.match(/\d/g)?.length ?? 0) >= 5 &&
      PASSPORT_LABEL_JUST_BEFORE.test(text.slice(Math.max(0, start - 40), start))
    );
  },
};

const MRZ_LINE_1 = "P[A-Z<][A-Z<]{3}[A-Z<]{39}";
const MRZ_LINE_2 = String.raw`([A-Z0-9<]{9}\d[A-Z<]{3}\d{7}[MFX<]\d{7}[A-Z0-9<]{14}[0-9<]\d)`;

/**
 * A passport's machine-readable zone (ICAO 9303 TD3): the second line's four check digits must hold; the first
 * line (document type P, issuing state, name) is masked with it when it comes just before, on its own line (a
 * newline, or `\n` inside JSON) or after a space. No context is needed: 44 characters with four check digits do
 * not occur by chance.
 */
const passportMrz: Detector = {
  type: "passport",
  class: "pii",
  pattern: new RegExp(
    String.raw`(?<![A-Z0-9<])(?:${MRZ_LINE_1}(?:\r?\n|\\n|[ \t]+))?${MRZ_LINE_2}(?![A-Z0-9<])`,
    "g",
  ),
  hint: /[MFX<]\d{7}/,
  validate: ({ groups }) => passportMrzValid(groups[0]!),
};

/** Passports: the MRZ first, so its document number is not taken for a bare passport number. */
export const PASSPORT_DETECTORS: readonly Detector[] = [passportMrz, passportNumber];
