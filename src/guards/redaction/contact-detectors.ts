import type { Detector } from "./detector.ts";
import { phoneNumber } from "./phone-number-detector.ts";

/** RFC 2606 / RFC 6761 names reserved for examples and tests: addresses there belong to no one. */
const RESERVED_DOMAIN = /(?:^|\.)(?:example\.(?:com|org|net)|example|test|invalid|localhost)$/i;
/** `icon@2x.png` is an image name, not an address. */
const FILE_EXTENSION = /\.(?:png|jpe?g|gif|svg|webp|ico|bmp|tiff?)$/i;

/** An email address on a real domain (reserved example domains and image names are left alone). */
const email: Detector = {
  type: "email",
  class: "pii",
  pattern:
    /(?<![\w.+%-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-]|\.[A-Za-z])/g,
  hint: /@/,
  validate: ({ value }) => {
    const [local, domain] = value.split("@") as [string, string];
    return !local.includes("..") && !RESERVED_DOMAIN.test(domain) && !FILE_EXTENSION.test(domain);
  },
};

const STREET_SUFFIX =
  "Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Ter|Close|Crescent|Square|Sq|Parkway|Pkwy|Highway|Hwy|Circle|Cir|Trail|Row|Gardens|Grove|Mews|Hill";
const NAME_WORD = String.raw`(?:[A-Z][a-z]+|[A-Z]\.|\d{1,3}(?:st|nd|rd|th))`;

/**
 * A street address: English-style ("221B Baker Street, London", "1600 Pennsylvania Ave NW, Washington, DC
 * 20500"), German ("Hauptstraße 12, 10115 Berlin") and French ("12 rue de la Paix, 75002 Paris"). A number, one
 * to four capitalised name words and a street word are all required.
 */
const streetAddress: Detector = {
  type: "street_address",
  class: "pii",
  pattern: new RegExp(
    [
      String.raw`\b\d{1,5}[A-Za-z]?\s+(?:${NAME_WORD}\s+){1,4}(?:${STREET_SUFFIX})\b\.?(?:\s+(?:NW|NE|SW|SE|N|S|E|W)\b)?` +
        String.raw`(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|Flat)\.?\s*#?[\w-]+)?` +
        String.raw`(?:,\s*[A-Z][a-z]+(?:\s[A-Z][a-z]+)?)?(?:,?\s+[A-Z]{2}\s+\d{5}(?:-\d{4})?)?`,
      String.raw`\b(?:[A-ZÄÖÜ][a-zäöüß]+(?:straße|strasse|str\.|weg|allee|platz|gasse|ring|damm)|[A-ZÄÖÜ][a-zäöüß]+(?:er)?\s(?:Straße|Strasse|Weg|Allee|Platz)|(?:Am|An der|Im|Auf dem|Zum|Zur)\s[A-ZÄÖÜ][a-zäöüß]+)\s+\d{1,4}[a-z]?\b(?:,\s*\d{5}\s+[A-ZÄÖÜ][a-zäöüß]+)?`,
      String.raw`\b\d{1,4}(?:\s?(?:bis|ter))?,?\s+(?:rue|avenue|boulevard|bd|place|chemin|allée|impasse|quai|route)\s+(?:(?:de|du|des|la|le)\s+|l'|d')*[A-ZÉÈ][\wéèêàçô'-]+(?:\s[A-ZÉÈ][\wéèêàçô'-]+)*(?:,\s*\d{5}\s+[A-ZÉ][\wéè-]+)?`,
    ].join("|"),
    "g",
  ),
};

const MONTHS =
  "Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?";
const BIRTH_LABEL = String.raw`(?:\b(?:born(?:\s+on)?|dob|d\.o\.b\.?|date\s+of\s+birth|birth\s*date|birthday|geboren(?:\s+am)?|geburtsdatum|n[ée]e?\s+le|date\s+de\s+naissance|fecha\s+de\s+nacimiento|nacid[oa]\s+el)\b|\bdob)`;
const DATE = String.raw`(?:\d{4}-\d{2}-\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{4}|\d{1,2}(?:st|nd|rd|th)?\s+(?:${MONTHS})\.?,?\s+\d{4}|(?:${MONTHS})\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4})`;

/** True when the date's parts make a real calendar date between 1900 and 2030, whichever order it is written in. */
function plausibleDate(value: string): boolean {
  const numbers = value.match(/\d+/g)?.map(Number) ?? [];
  const year = numbers.find((number) => number >= 1000);
  if (year === undefined || year < 1900 || year > 2030) return false;
  const small = numbers.filter((number) => number < 1000);
  if (/[A-Za-z]{3}/.test(value)) return small.length >= 1 && small[0]! >= 1 && small[0]! <= 31;
  const [first, second] = small as [number, number];
  const dayMonth = first >= 1 && first <= 31 && second >= 1 && second <= 12;
  const monthDay = first >= 1 && first <= 12 && second >= 1 && second <= 31;
  return dayMonth || monthDay;
}

/** A date of birth: a date that follows a birth label ("DOB:", "born on", "date of birth", "geboren am", …). */
const dateOfBirth: Detector = {
  type: "date_of_birth",
  class: "pii",
  pattern: new RegExp(String.raw`${BIRTH_LABEL}[\s:"'=,-]{0,6}(?:\w+\s){0,2}?(${DATE})`, "gi"),
  group: [1],
  hint: /born|birth|dob|d\.o\.b|geboren|geburt|n[ée]e? le|naissance|nacimiento|nacid/i,
  validate: ({ groups }) => plausibleDate(groups[0]!),
};

/** Ways to reach or find a person. */
export const CONTACT_DETECTORS: readonly Detector[] = [email, streetAddress, dateOfBirth, phoneNumber];
