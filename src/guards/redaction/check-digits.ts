/**
 * Check-digit algorithms of the identifiers the redactor recognises. Each takes the identifier's digits (or
 * characters) without separators and says whether its check digit or checksum is right; a number that fails is
 * not that identifier, which is what keeps order numbers and other digit runs from being masked.
 */

/** Luhn (ISO/IEC 7812-1): payment cards, Canadian SINs. */
export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  let double = false;
  for (let index = digits.length - 1; index >= 0; index -= 1) {
    let digit = digits.charCodeAt(index) - 48;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return sum % 10 === 0;
}

/** ISO 13616 IBAN check: move the first four characters to the end, letters to numbers, remainder 97 must be 1. */
export function ibanMod97Valid(iban: string): boolean {
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(iban)) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const character of rearranged) {
    const code = character.charCodeAt(0);
    const value = code >= 65 ? String(code - 55) : character;
    for (const digit of value) remainder = (remainder * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return remainder === 1;
}

const VERHOEFF_MULTIPLY = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
  [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
  [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
  [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
  [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
  [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
  [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
  [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
  [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const VERHOEFF_PERMUTE = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
  [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
  [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
  [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
  [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
  [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
  [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];

/** Verhoeff (dihedral group D5): India's Aadhaar numbers end in a Verhoeff check digit. */
export function verhoeffValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let check = 0;
  for (let index = 0; index < digits.length; index += 1) {
    const digit = digits.charCodeAt(digits.length - 1 - index) - 48;
    check = VERHOEFF_MULTIPLY[check]![VERHOEFF_PERMUTE[index % 8]![digit]!]!;
  }
  return check === 0;
}

/** The Verhoeff check digit to append to `digits` (used to build valid examples). */
export function verhoeffCheckDigit(digits: string): number {
  for (let candidate = 0; candidate <= 9; candidate += 1) {
    if (verhoeffValid(`${digits}${candidate}`)) return candidate;
  }
  throw new Error("no Verhoeff check digit fits");
}

/** ISO 7064 MOD 11,10: the check digit of Germany's tax identification number (Steuer-ID). */
export function iso7064Mod11Of10CheckDigit(digits: string): number {
  let product = 10;
  for (const character of digits) {
    let sum = (character.charCodeAt(0) - 48 + product) % 10;
    if (sum === 0) sum = 10;
    product = (sum * 2) % 11;
  }
  const check = 11 - product;
  return check === 10 ? 0 : check;
}

/**
 * Germany's Steuer-ID: 11 digits, no leading zero, in the first ten one digit occurs twice or three times (the
 * rest at most once), and the last digit is the ISO 7064 MOD 11,10 check digit.
 */
export function germanTaxIdValid(digits: string): boolean {
  if (!/^[1-9]\d{10}$/.test(digits)) return false;
  const counts = new Map<string, number>();
  for (const digit of digits.slice(0, 10)) counts.set(digit, (counts.get(digit) ?? 0) + 1);
  const repeated = [...counts.values()].filter((count) => count > 1);
  if (repeated.length !== 1 || repeated[0]! > 3) return false;
  return iso7064Mod11Of10CheckDigit(digits.slice(0, 10)) === Number(digits[10]);
}

/**
 * France's NIR (INSEE number): 13 characters then a two-digit key, 97 minus the number modulo 97. Corsica's
 * departments 2A and 2B count as 19 and 18.
 */
export function frenchNirValid(nir: string): boolean {
  if (!/^[12378]\d{4}(?:\d{2}|2A|2B)\d{6}\d{2}$/.test(nir)) return false;
  const body = nir.slice(0, 13).replace("2A", "19").replace("2B", "18");
  const key = Number(nir.slice(13));
  return 97 - Number(BigInt(body) % 97n) === key;
}

const DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE";

/** Spain's DNI (8 digits) and NIE (X, Y or Z then 7 digits): the letter is the number modulo 23. */
export function spanishDniValid(value: string): boolean {
  const match = /^([XYZ]|\d)(\d{7})([A-Z])$/.exec(value);
  if (!match) return false;
  const lead = match[1]!;
  const prefix = lead === "X" ? "0" : lead === "Y" ? "1" : lead === "Z" ? "2" : lead;
  return DNI_LETTERS[Number(prefix + match[2]) % 23] === match[3];
}

/** The DNI letter for an 8-digit number (used to build valid examples). */
export function spanishDniLetter(number: number): string {
  return DNI_LETTERS[number % 23]!;
}

/** The Netherlands' BSN: nine digits passing the "elfproef" (9a + 8b + … + 2h − i divisible by 11). */
export function dutchBsnValid(digits: string): boolean {
  if (!/^\d{9}$/.test(digits) || digits === "000000000") return false;
  let sum = 0;
  for (let index = 0; index < 8; index += 1) sum += (9 - index) * (digits.charCodeAt(index) - 48);
  sum -= digits.charCodeAt(8) - 48;
  return sum % 11 === 0;
}

/** Brazil's CPF: eleven digits, not all the same, the last two are mod-11 check digits. */
export function brazilianCpfValid(digits: string): boolean {
  if (!/^\d{11}$/.test(digits) || /^(\d)\1{10}$/.test(digits)) return false;
  const check = (length: number): number => {
    let sum = 0;
    for (let index = 0; index < length; index += 1)
      sum += (length + 1 - index) * (digits.charCodeAt(index) - 48);
    const remainder = (sum * 10) % 11;
    return remainder === 10 ? 0 : remainder;
  };
  return check(9) === Number(digits[9]) && check(10) === Number(digits[10]);
}

/** The UK NHS number: ten digits, the last a mod-11 check digit (a check of 10 means the number is invalid). */
export function nhsNumberValid(digits: string): boolean {
  if (!/^\d{10}$/.test(digits)) return false;
  let sum = 0;
  for (let index = 0; index < 9; index += 1) sum += (10 - index) * (digits.charCodeAt(index) - 48);
  const check = 11 - (sum % 11);
  if (check === 10) return false;
  return (check === 11 ? 0 : check) === Number(digits[9]);
}

/** The ICAO 9303 check digit of an MRZ field: weights 7, 3, 1 repeating; 0–9 as themselves, A–Z as 10–35, `<` as 0. */
export function mrzCheckDigit(field: string): number {
  const weights = [7, 3, 1];
  let sum = 0;
  for (let index = 0; index < field.length; index += 1) {
    const code = field.charCodeAt(index);
    const value = code >= 65 && code <= 90 ? code - 55 : code >= 48 && code <= 57 ? code - 48 : 0;
    sum += value * weights[index % 3]!;
  }
  return sum % 10;
}

/**
 * The second line of a passport's machine-readable zone (ICAO 9303 TD3, 44 characters): the check digits of the
 * document number, the date of birth and the expiry date, and the composite check over all three. A `<` stands
 * for 0 where a check digit is left empty (an optional personal-number field).
 */
export function passportMrzValid(line: string): boolean {
  if (!/^[A-Z0-9<]{9}\d[A-Z<]{3}\d{7}[MFX<]\d{7}[A-Z0-9<]{14}[0-9<]\d$/.test(line)) return false;
  const digit = (at: number) => (line[at] === "<" ? 0 : line.charCodeAt(at) - 48);
  if (mrzCheckDigit(line.slice(0, 9)) !== digit(9)) return false;
  if (mrzCheckDigit(line.slice(13, 19)) !== digit(19)) return false;
  if (mrzCheckDigit(line.slice(21, 27)) !== digit(27)) return false;
  if (mrzCheckDigit(line.slice(28, 42)) !== digit(42)) return false;
  const composite = line.slice(0, 10) + line.slice(13, 20) + line.slice(21, 43);
  return mrzCheckDigit(composite) === digit(43);
}
