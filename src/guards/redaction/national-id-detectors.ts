import {
  brazilianCpfValid,
  dutchBsnValid,
  frenchNirValid,
  germanTaxIdValid,
  nhsNumberValid,
  spanishDniValid,
  verhoeffValid,
} from "./check-digits.ts";
import { type Candidate, type Detector, labelledBefore } from "./detector.ts";

// Digit runs must stand alone: not inside a longer number, word, or a dotted/dashed code.
const BEFORE = String.raw`(?<![\w.+\/-]|\d[ .-])`;
const AFTER = String.raw`(?![\w\/-]|[ .-]\d)`;

const digitsOf = (value: string): string => value.replace(/\D/g, "");

/** A US Social Security number: area not 000, 666 or 9xx, group not 00, serial not 0000; undashed ones need a label. */
const usSsn: Detector = {
  type: "us_ssn",
  class: "pii",
  pattern: new RegExp(`${BEFORE}(\\d{3})([- ]?)(\\d{2})\\2(\\d{4})${AFTER}`, "g"),
  validate: ({ text, start, groups }) => {
    const [area, separator, group, serial] = groups as [string, string, string, string];
    if (area === "000" || area === "666" || area.startsWith("9") || group === "00" || serial === "0000") {
      return false;
    }
    return separator === "-" || labelledBefore(text, start, /\b(ssn|social security|soc\.? ?sec)/i);
  },
};

const NINO_EXCLUDED = new Set(["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"]);

/** A UK National Insurance number: two letters from the allowed sets, six digits, a suffix A–D. */
const ukNino: Detector = {
  type: "uk_nino",
  class: "pii",
  pattern: /\b([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]) ?(\d{2}) ?(\d{2}) ?(\d{2}) ?([A-D])\b/g,
  validate: ({ groups }) => !NINO_EXCLUDED.has(groups[0]!),
};

/** A UK NHS number: ten digits with a mod-11 check digit, next to the word NHS (3-3-4 is also a phone shape). */
const ukNhsNumber: Detector = {
  type: "uk_nhs_number",
  class: "pii",
  pattern: new RegExp(`${BEFORE}\\d{3}[ -]?\\d{3}[ -]?\\d{4}${AFTER}`, "g"),
  hint: /nhs/i,
  validate: ({ text, start, value }) =>
    nhsNumberValid(digitsOf(value)) && labelledBefore(text, start, /nhs/i),
};

/** Germany's Steuer-ID (11 digits, digit-distribution rule and ISO 7064 check digit). */
const deTaxId: Detector = {
  type: "de_tax_id",
  class: "pii",
  pattern: new RegExp(`${BEFORE}\\d{2} ?\\d{3} ?\\d{3} ?\\d{3}${AFTER}`, "g"),
  validate: ({ value }) => germanTaxIdValid(digitsOf(value)),
};

/** France's NIR: sex, year, month, department (2A/2B for Corsica), commune, order, and the mod-97 key. */
const frNir: Detector = {
  type: "fr_nir",
  class: "pii",
  pattern: new RegExp(
    `${BEFORE}[12378] ?\\d{2} ?\\d{2} ?(?:\\d{2}|2A|2B) ?\\d{3} ?\\d{3} ?\\d{2}${AFTER}`,
    "g",
  ),
  validate: ({ value }) => {
    const compact = value.replace(/ /g, "");
    const month = Number(compact.slice(3, 5));
    const plausibleMonth = (month >= 1 && month <= 12) || (month >= 20 && month <= 42) || month >= 50;
    return plausibleMonth && frenchNirValid(compact);
  },
};

/** Spain's DNI and NIE: the control letter is the number modulo 23. */
const esDni: Detector = {
  type: "es_dni",
  class: "pii",
  pattern: /(?<![\w-])([XYZ]?\d{7,8})-?([A-Z])(?![\w-])/g,
  validate: ({ groups }) => {
    const number = groups[0]!;
    return number.length === 8 && spanishDniValid(number + groups[1]!);
  },
};

const AADHAAR_LABEL = /\b(?:aadhaa?r|uidai|uid|vid)\b|आधार|ஆதார்|ఆధార్|আধার/i;
/** Labels of product, order and stock numbers: a 4-4-4 code after one is not an Aadhaar, Verhoeff or not. */
const PRODUCT_LABEL =
  /\b(?:sku|part|p\/n|pn|mpn|item|article|art\.?|artikel|product|model|serial|s\/n|order|invoice|ref|reference|batch|lot|catalog(?:ue)?|cat\.?|upc|ean|gtin|isbn|asin|code|stock|inventory|tracking|shipment|barcode|voucher|coupon|gift|license|licence|key|pin|ticket|booking|confirmation|account|acct|policy|claim|case)\b[^\n]{0,12}$/i;

/**
 * India's Aadhaar: 12 digits, not starting with 0 or 1, Verhoeff check digit. One random 12-digit code in ten
 * passes Verhoeff, so the digit alone is not enough: next to an Aadhaar label (Aadhaar, UIDAI, UID, आधार …) any
 * grouping is taken; without one only the 4-4-4 grouping with spaces that the card prints, and never after a
 * product, order or stock label (SKU 2345 6789 0123) or before a product word.
 */
const inAadhaar: Detector = {
  type: "in_aadhaar",
  class: "pii",
  pattern: new RegExp(`${BEFORE}([2-9]\\d{3})([ -]?)(\\d{4})\\2(\\d{4})${AFTER}`, "g"),
  validate: ({ text, start, end, value, groups }) => {
    if (!verhoeffValid(digitsOf(value))) return false;
    if (labelledBefore(text, start, AADHAAR_LABEL, 60)) return true;
    return (
      groups[1] === " " &&
      !labelledBefore(text, start, PRODUCT_LABEL, 40) &&
      !/^\s*\(?(?:sku|part|item|product|model|pcs|units|x\b)/i.test(text.slice(end, end + 12))
    );
  },
};

/** The Netherlands' BSN: nine digits passing the elfproef, next to its name (any nine digits pass one time in 11). */
const nlBsn: Detector = {
  type: "nl_bsn",
  class: "pii",
  pattern: new RegExp(`${BEFORE}\\d{4}\\.?\\d{2}\\.?\\d{3}${AFTER}`, "g"),
  hint: /bsn|burgerservice|sofi/i,
  validate: ({ text, start, value }) =>
    dutchBsnValid(digitsOf(value)) && labelledBefore(text, start, /\b(bsn|burgerservicenummer|sofi)/i),
};

/** Brazil's CPF: 000.000.000-00 with two mod-11 check digits; a bare 11-digit run needs the label CPF. */
const brCpf: Detector = {
  type: "br_cpf",
  class: "pii",
  pattern: new RegExp(`${BEFORE}\\d{3}\\.?\\d{3}\\.?\\d{3}-?\\d{2}${AFTER}`, "g"),
  validate: ({ text, start, value }: Candidate) =>
    brazilianCpfValid(digitsOf(value)) &&
    (/^\d{3}\.\d{3}\.\d{3}-\d{2}$/.test(value) || labelledBefore(text, start, /\bcpf\b/i)),
};

/** National identity and tax numbers, most specific first. */
export const NATIONAL_ID_DETECTORS: readonly Detector[] = [
  ukNhsNumber,
  nlBsn,
  brCpf,
  frNir,
  inAadhaar,
  deTaxId,
  usSsn,
  ukNino,
  esDni,
];
