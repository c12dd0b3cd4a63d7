import { ibanMod97Valid, luhnValid } from "./check-digits.ts";
import type { Detector } from "./detector.ts";

type CardBrand = { prefixes: readonly [number, number][]; lengths: readonly number[] };

/** Issuer ranges (first digits) and lengths of the major card networks (ISO/IEC 7812 IINs as published). */
const CARD_BRANDS: readonly CardBrand[] = [
  { prefixes: [[4, 4]], lengths: [13, 16, 19] }, // Visa
  {
    prefixes: [
      [51, 55],
      [2221, 2720],
    ],
    lengths: [16],
  }, // Mastercard
  {
    prefixes: [
      [34, 34],
      [37, 37],
    ],
    lengths: [15],
  }, // American Express
  {
    prefixes: [
      [6011, 6011],
      [644, 649],
      [65, 65],
      [622126, 622925],
    ],
    lengths: [16, 17, 18, 19],
  }, // Discover
  { prefixes: [[3528, 3589]], lengths: [16, 17, 18, 19] }, // JCB
  {
    prefixes: [
      [300, 305],
      [36, 36],
      [38, 39],
    ],
    lengths: [14, 15, 16, 17, 18, 19],
  }, // Diners Club
  { prefixes: [[62, 62]], lengths: [16, 17, 18, 19] }, // UnionPay
  { prefixes: [[2200, 2204]], lengths: [16, 17, 18, 19] }, // Mir
  {
    prefixes: [
      [5018, 5018],
      [5020, 5020],
      [5038, 5038],
      [5893, 5893],
      [6304, 6304],
      [6759, 6759],
      [6761, 6763],
    ],
    lengths: [12, 13, 14, 15, 16, 17, 18, 19],
  }, // Maestro
];

function knownCardNumber(digits: string): boolean {
  return CARD_BRANDS.some(
    (brand) =>
      brand.lengths.includes(digits.length) &&
      brand.prefixes.some(([low, high]) => {
        const width = String(low).length;
        const prefix = Number(digits.slice(0, width));
        return prefix >= low && prefix <= high;
      }),
  );
}

/** Group lengths people and receipts write card numbers in: fours (16/19 digits), 4-6-5 (Amex), 4-6-4 (Diners). */
function plausibleGrouping(value: string): boolean {
  const groups = value.split(/[ -]/);
  if (groups.length === 1) return true;
  const lengths = groups.map((group) => group.length);
  const shape = lengths.join("-");
  if (shape === "4-6-5" || shape === "4-6-4") return true;
  return lengths.slice(0, -1).every((length) => length === 4) && lengths.at(-1)! >= 1 && lengths.at(-1)! <= 4;
}

/** A payment card number: a known issuer range and length, a plausible grouping and a valid Luhn digit. */
const paymentCard: Detector = {
  type: "payment_card",
  class: "pii",
  pattern:
    /(?<![\w.+/-]|\d[ -])\d{4}(?:[ -]?\d{1,6}){2,4}(?![\w/-]|[ -]\d)|(?<![\w.+/-])\d{12,19}(?![\w/-])/g,
  validate: ({ value }) => {
    const digits = value.replace(/[ -]/g, "");
    if (/[ -]/.test(value) && !/^\d+(?:([ -])\d+)(?:\1\d+)*$/.test(value)) return false;
    return digits.length >= 12 && plausibleGrouping(value) && knownCardNumber(digits) && luhnValid(digits);
  },
};

/** IBAN length per country (ISO 13616 registry). */
const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24,
  AE: 23,
  AL: 28,
  AT: 20,
  AZ: 28,
  BA: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BR: 29,
  BY: 28,
  CH: 21,
  CR: 22,
  CY: 28,
  CZ: 24,
  DE: 22,
  DK: 18,
  DO: 28,
  EE: 20,
  EG: 29,
  ES: 24,
  FI: 18,
  FO: 18,
  FR: 27,
  GB: 22,
  GE: 22,
  GI: 23,
  GL: 18,
  GR: 27,
  GT: 28,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IQ: 23,
  IS: 26,
  IT: 27,
  JO: 30,
  KW: 30,
  KZ: 20,
  LB: 28,
  LC: 32,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  MC: 27,
  MD: 24,
  ME: 22,
  MK: 19,
  MR: 27,
  MT: 31,
  MU: 30,
  NL: 18,
  NO: 15,
  PK: 24,
  PL: 28,
  PS: 29,
  PT: 25,
  QA: 29,
  RO: 24,
  RS: 22,
  SA: 24,
  SC: 31,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  ST: 25,
  SV: 28,
  TL: 23,
  TN: 24,
  TR: 26,
  UA: 29,
  VA: 22,
  VG: 24,
  XK: 20,
};

/**
 * An IBAN: a registered country, that country's length, and ISO 7064 mod-97 = 1. Written in groups of four, a
 * run may go on into the next word; the span is cut back to the country's length.
 */
const iban: Detector = {
  type: "iban",
  class: "pii",
  pattern: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b/g,
  validate: ({ value, start }) => {
    const length = IBAN_LENGTHS[value.slice(0, 2)];
    if (length === undefined) return false;
    let taken = 0;
    let end = 0;
    while (end < value.length && taken < length) {
      if (value[end] !== " ") taken += 1;
      end += 1;
    }
    if (taken < length) return false;
    if (end < value.length && value[end] !== " ") return false;
    if (!ibanMod97Valid(value.slice(0, end).replace(/ /g, ""))) return false;
    return end === value.length ? true : { start, end: start + end };
  },
};

/** Payment cards and bank accounts. */
export const FINANCIAL_DETECTORS: readonly Detector[] = [paymentCard, iban];
