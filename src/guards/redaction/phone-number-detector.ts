import { type Detector, labelledBefore } from "./detector.ts";

/** National significant number lengths after the country code (ITU-T E.164 national plans), for common codes. */
const COUNTRY_LENGTHS: Readonly<Record<string, readonly [number, number]>> = {
  "1": [10, 10],
  "7": [10, 10],
  "20": [9, 10],
  "27": [9, 9],
  "30": [10, 10],
  "31": [9, 9],
  "32": [8, 9],
  "33": [9, 9],
  "34": [9, 9],
  "36": [8, 9],
  "39": [6, 11],
  "40": [9, 9],
  "41": [9, 9],
  "43": [7, 13],
  "44": [9, 10],
  "45": [8, 8],
  "46": [7, 10],
  "47": [8, 8],
  "48": [9, 9],
  "49": [6, 12],
  "52": [10, 10],
  "54": [10, 11],
  "55": [10, 11],
  "61": [9, 9],
  "62": [9, 12],
  "63": [10, 10],
  "64": [8, 10],
  "65": [8, 8],
  "81": [9, 10],
  "82": [8, 10],
  "86": [10, 11],
  "90": [10, 10],
  "91": [10, 10],
  "234": [8, 10],
  "351": [9, 9],
  "353": [7, 9],
  "358": [6, 11],
  "420": [9, 9],
  "852": [8, 8],
  "971": [8, 9],
  "972": [8, 9],
};

const PHONE_LABEL =
  /\b(?:phone|tel|telephone|mobile|cell|call|fax|whatsapp|sms|text|reach|contact|ring|telefon|handy|mobil|t[ée]l[ée]phone|portable|t[ée]l|m[óo]vil|tel[ée]fono)\b|☎|📞/i;
/**
 * Labels of identifiers shaped like phone numbers but not phones: order, invoice, SKU and tracking numbers, the
 * national identifiers other detectors own (an NHS or CPF number that fails its check is still no phone), and
 * words before a range of numbers ("rows 03486-19439").
 */
const IDENTIFIER_LABEL =
  /\b(?:rows|lines|pages|records|entries|items|ids|offsets|ports|bytes|range|order|invoice|sku|part|ref|reference|tracking|serial|item|product|model|account|acct|case|ticket|po|batch|lot|isbn|no\.|nr\.?|id|nhs(?: number| no\.?)?|ssn|nino|bsn|cpf|dni|nie|nir|iban|aadhaa?r|steuer-?id|tax id)\s*[:#]?\s*$|#\s*$/i;

const DATE_SHAPED = /^(?:\d{4}[./-]\d{1,2}[./-]\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4})$/;
const NANP = /^(?:\+?1[ .-]?)?(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[ .-])[2-9]\d{2}[ .-]\d{4}$/;

function internationalValid(digits: string): boolean {
  for (const length of [1, 2, 3]) {
    const range = COUNTRY_LENGTHS[digits.slice(0, length)];
    if (!range) continue;
    const national = digits.length - length;
    if (national >= range[0] && national <= range[1]) return true;
  }
  return false;
}

function shapedLikePhone(value: string): boolean {
  const digits = value.replace(/\D/g, "");
  if (value.startsWith("+")) return internationalValid(value.replace("(0)", "").replace(/\D/g, ""));
  if (value.startsWith("00")) return internationalValid(digits.slice(2));
  if (NANP.test(value)) return true;
  const groups = value.split(/[ ./()-]+/).filter(Boolean);
  if (value.startsWith("0") && digits.length >= 10 && digits.length <= 12 && groups.length >= 2) return true;
  return /^[6-9]\d{4} \d{5}$/.test(value);
}

/**
 * A phone number: international (+ or 00 and a known country code with that country's length), North American
 * (NXX-NXX-XXXX), national with a trunk 0 in groups (UK, Germany, France, …), Indian mobile (5-5); any run of 7 to
 * 12 digits after a phone label ("tel:", "call me on"). Numbers labelled as orders, invoices, SKUs or
 * tracking numbers are not phones.
 */
export const phoneNumber: Detector = {
  type: "phone",
  class: "pii",
  pattern:
    /(?<![\w+.,/-]|\d[ .-])(?:\+\d{1,3}|00\d{1,3}|\(\d{1,5}\)|\d{1,5})(?:(?: ?\(0\))?[ ./-]?(?:\(\d{1,5}\)|\d{1,8})){1,5}(?![\w/]|[.,-]?\d)/g,
  validate: ({ text, start, value }) => {
    const digits = value.replace(/\D/g, "");
    if (digits.length < 7 || digits.length > 15 || DATE_SHAPED.test(value)) return false;
    const labelled = labelledBefore(text, start, PHONE_LABEL, 30);
    if (!labelled && labelledBefore(text, start, IDENTIFIER_LABEL, 16)) return false;
    if (shapedLikePhone(value)) return true;
    return labelled && digits.length <= 12 && /^[\d ()+.-]+$/.test(value);
  },
};
