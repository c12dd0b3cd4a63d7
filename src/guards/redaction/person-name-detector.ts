import type { Candidate, Detector } from "./detector.ts";

/**
 * Person names are found only where a text ties them to a way of reaching someone: next to an email address, a
 * phone number or a street address ("Contact: Maria Gómez, maria.g@…", "Ask John O'Neil at +44 …"), after a
 * sign-off in a signature ("Best regards,\nLukas Schmidt"), or after a name label with contact details nearby.
 * A capitalised word alone is not a name; there is no statistical recogniser behind this.
 */

const TOKEN = String.raw`(?:\p{Lu}['’])?\p{Lu}[\p{Ll}\p{M}]+(?:\p{Lu}[\p{Ll}\p{M}]+)?(?:-\p{L}[\p{Ll}\p{M}]+)?`;
const PARTICLE = String.raw`(?:van der|van den|van de|von der|de la|de los|de las|van|von|der|den|het|de|del|della|di|da|dos|das|do|du|le|la|bin|ibn|al|el|ben|ter|ten|zu|y|e|\p{Lu}\.)`;
const NAME = String.raw`${TOKEN}(?:[ \u00a0](?:${PARTICLE}[ \u00a0]){0,2}${TOKEN}){0,3}`;

/** Common given names in the languages Keel's users write, so a single given name next to a contact counts. */
const GIVEN_NAMES = new Set(
  (
    "James John Robert Michael William David Richard Joseph Thomas Charles Mary Patricia Jennifer Linda Elizabeth " +
    "Barbara Susan Jessica Sarah Karen Emily Emma Olivia Sophia Isabella Mia Charlotte Amelia Harper Ava Grace Chloe " +
    "Jack Harry George Oliver Noah Liam Ethan Lucas Mason Logan Daniel Matthew Andrew Peter Paul Mark Steven Kevin " +
    "Brian Anna Laura Julia Lisa Kate Katie Sam Alex Chris Tom Ben Dan Jane Jim Joe Tim Nick Kim Amy Rachel Hannah " +
    "Lukas Leon Felix Jonas Maximilian Paul Finn Elias Ben Moritz Lena Leonie Marie Sophie Johanna Katharina Anja " +
    "Jürgen Klaus Stefan Sabine Ursula Wolfgang Dieter Hans Helga Birgit Jörg Björn Sören Günter Uwe Heike " +
    "Jean Pierre Louis Hugo Jules Camille Léa Chloé Manon Inès Amélie Élodie Hélène Céline Zoé Théo François " +
    "Françoise Étienne Benoît Olivier Nicolas Antoine Mathieu Sébastien Aurélie Margaux Gaëlle " +
    "María Maria José Jose Juan Carlos Javier Alejandro Pablo Diego Sergio Lucía Lucia Sofía Sofia Martina Valeria " +
    "Carmen Isabel Elena Ana Pilar Rocío Andrés Álvaro Jesús Luis Miguel Raúl Ramón Íñigo Nuria Marta Paula " +
    "Giulia Chiara Francesca Alessandro Marco Giuseppe Luca Matteo Lorenzo Andrea Giovanni Federica Alessia Paolo " +
    "João Joao Pedro Thiago Gabriel Rafael Mateus Fernanda Beatriz Larissa Camila Letícia Gonçalo Conceição " +
    "Pieter Jan Sanne Lotte Daan Bram Sem Femke Anouk Joris Maarten Henk Bas Ruud Wouter Eva Noor " +
    "Piotr Krzysztof Agnieszka Katarzyna Małgorzata Łukasz Paweł Tomasz Magdalena Zofia Wojciech " +
    "Ivan Dmitri Dmitry Sergei Sergey Olga Natalia Tatiana Svetlana Alexei Alexander Aleksandr Nikolai Irina Yulia " +
    "Иван Дмитрий Сергей Ольга Наталья Татьяна Алексей Александр Мария Анна Елена " +
    "Mohammed Muhammad Mohamed Ahmed Ali Omar Fatima Aisha Layla Yusuf Hassan Hussein Khalid Zainab Mariam Karim " +
    "Mehmet Mustafa Emre Elif Zeynep Ayşe Fatma Can Deniz Burak Selin " +
    "Raj Rahul Priya Ananya Arjun Aarav Vikram Sanjay Deepak Anil Sunita Pooja Neha Rohan Amit Kavya Lakshmi Ravi " +
    "Wei Li Ming Hao Jun Xiaoming Mei Yan Jing Lei Fang Yu Chen Hiroshi Takashi Yuki Haruto Sakura Kenji Aiko " +
    "Minjun Seojun Jiwoo Jisoo Yuna Hyun Soo Nguyen Thi Linh Minh Chidi Ngozi Amara Kwame Ama Oluwaseun Aisha " +
    "Sven Lars Erik Ingrid Astrid Nils Anders Freya Sigrid Mikael Johan Karin Mette Søren Åsa Oskar"
  ).split(" "),
);

/** Capitalised words that start sentences or name roles, organisations, places and dates: never part of a name. */
const NOT_NAME_WORDS = new Set(
  (
    "Team Support Service Services Customer Customers Sales Office Desk Help Helpdesk Center Centre Department " +
    "Dept Billing Accounts Account Inc Ltd Llc Gmbh Corp Corporation Company Group Holdings Store Shop Cafe " +
    "Restaurant Hotel Bank Airlines Airways Hospital Clinic University School College Institute Foundation " +
    "Ministry Agency Embassy Consulate Police Emergency Hotline Reception Front Main North South East West " +
    "Street Road Avenue Lane City County State Republic Kingdom United States America Europe International " +
    "Global National Technical Tech Technologies Systems Solutions Logistics Express Delivery Shipping Order " +
    "Orders Invoice Product Products Item Model Version Release Firmware Update Status Manager Director Officer " +
    "Engineer Admin Administrator Operations Security Privacy Legal Compliance Marketing Media Press Partner " +
    "Partners Enterprise Premium Gold Silver Plan Free Pro Monday Tuesday Wednesday Thursday Friday Saturday " +
    "Sunday January February March April May June July August September October November December Please Note " +
    "Thanks Thank Hello Hi Dear Regards Best Contact Call Email Mail Phone Mobile Tel Fax Address Name Client " +
    "Our Your The This That For From To And Or With Ask Reach Write Visit Send Text Ring Questions Info " +
    "Information General Enquiries Inquiries Reservations Booking Bookings Careers Jobs Hr Finance Payroll " +
    "Kundenservice Kundendienst Vertrieb Abteilung Servicio Atención Cliente Clientes Soporte Ventas Oficina " +
    "Centro Assistance Ventes Bureau Accueil Zentrale Filiale Praxis Apotheke Google Microsoft Apple Amazon " +
    "Samsung Acme Stripe Slack Github Keel London Paris Berlin Madrid Rome Tokyo New York San Francisco Los " +
    "Angeles Sydney Toronto Mumbai Delhi Beijing Shanghai Dublin Amsterdam Munich München Hamburg Vienna " +
    "Zurich Geneva Brussels Lisbon Barcelona Milan Moscow Chicago Boston Seattle Austin Denver Portland Leeds " +
    "Bristol Germany France Spain Italy India China Japan Brazil Mexico Canada Australia Head Chief Senior " +
    "Junior Lead Manager Assistant Coordinator Specialist Representative Agent Owner Founder President " +
    "Mon Tue Wed Thu Fri Sat Sun Room Floor Building Unit Suite Gate Terminal Platform Station Airport Port " +
    "Warehouse Depot Hub Site Branch Headquarters Campus Office Online Web Website Portal App Mobile Tablet"
  )
    .split(" ")
    .map((word) => word.toLowerCase()),
);

/** Endings of nouns that label a value (German compounds above all): Identifikationsnummer, Lieferadresse. */
const NOT_NAME_ENDING =
  /(?:nummer|number|adresse|address|datum|konto|kennung|stelle|straße|strasse|service|abteilung|zentrale)$/i;

/** Words a name may follow that are not part of it: greetings, titles, verbs of contact, labels. */
const LEAD_WORDS = new Set(
  (
    "Contact Ask Call Email Mail Phone Ring Text Message Write Reach Dear Hi Hello Hey Thanks Thank Regards " +
    "Best Cheers From To Cc Attn Attention Name Please Speak Talk See Mr Mrs Ms Miss Mx Dr Prof Sir Madam " +
    "Herr Frau Sr Sra Srta Don Doña Mme Mlle Signor Signora Sig Dott Dhr Mevr Pan Pani Sayın Shri Smt " +
    "Kontakt Ansprechpartner Ansprechpartnerin Contacto Contatto Nom Nombre Nome Naam Customer Client Patient " +
    "Applicant Guest Passenger Employee Owner Holder Recipient Sender Signed Llame Escriba Contacte Pregunte " +
    "Rufen Schreiben Fragen Appelez Écrivez Contactez Demandez Chiamare Scrivere Contattare Chiedi Ligue " +
    "Escreva Bel Mail Vraag Напишите Позвоните Свяжитесь Спросите Контакт"
  )
    .split(" ")
    .map((word) => word.toLowerCase()),
);

const EMAIL = String.raw`[\w.+%-]+@[\w-]+(?:\.[\w-]+)+`;
const PHONE = String.raw`(?:\+|00)?\(?\d[\d \u00a0()./-]{5,18}\d`;
const ADDRESS = String.raw`(?:\d{1,5}[A-Za-z]?,?\s+(?:[\p{L}.'’-]+\s+){0,4}(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|Way|Boulevard|Blvd|Place|Pl|Court|Ct|Close|Crescent|Terrace|Gardens|rue|avenue|boulevard|place|chemin|quai)\b|[\p{L}-]+(?:straße|strasse|str\.|weg|allee|platz|gasse|laan|straat|gracht|plein)\s+\d|(?:Calle|C\/|Avda\.?|Avenida|Rua|Via|Viale|Piazza|Corso|Plaza|Paseo|Praça)\s+[\p{L}\s.'’-]{2,40}?,?\s*\d)`;
const CONTACT = new RegExp(`^<?(?:(${EMAIL})|(${PHONE})|${ADDRESS})`, "u");

/** Punctuation and short words that may stand between a name and its contact detail. */
const CONNECTIVE = String.raw`(?:[\s,;:()<>\[\]"'“”«»|/–—-]+|\b(?:at|on|via|by|per|under|unter|call|ring|reach|contact|write|text|anrufen|appeler|llamar|au|en|a|al|em|op|am|tel|tél|tfno|phone|telephone|telefon|téléphone|teléfono|telefone|mobile|mobil|móvil|cell|fax|whatsapp|email|e-mail|mail|courriel|correo|t|m|p|e|is|ist|est|es|or|oder|ou|o)\b\.?|\w*(?:email|phone|mail|mobile|tel)\w*)`;
const AFTER = new RegExp(`^${CONNECTIVE}{1,10}`, "iu");
const BEFORE_CONTACT = new RegExp(
  `(?:${EMAIL}|${PHONE})[\\s,;:()<>\\[\\]"'“”|/–—-]{0,6}(?:"?[\\w ]{0,12}name"?\\s*:\\s*"?)?$`,
  "u",
);
const SIGN_OFF_WORDS =
  "(?:regards|best|cheers|thanks|thank you|many thanks|sincerely|yours|warmly|grüßen?|gruß|grüße|cordialement|salutations|bien à vous|saludos|atentamente|un saludo|groeten|saluti|cordiali saluti|distinti saluti|abraços|atenciosamente|pozdrawiam|с уважением|saygılarımla)";
/** A sign-off, then the name on the next line (a real newline, or `\n` inside JSON), maybe after a dash. */
const SIGN_OFF = new RegExp(`${SIGN_OFF_WORDS}[^\\n]{0,16}(?:\\n|\\\\n)[ \\t]*(?:[-–—]{1,2}[ \\t]*)?$`, "iu");
/** A sign-off and the name on the same line, the name ending the line: "Thanks, Maria". */
const SIGN_OFF_INLINE = new RegExp(`\\b${SIGN_OFF_WORDS}[,!.]?[ \\t]+$`, "iu");
const LINE_END = /^[ \t.!]*(?:$|\r?\n|\\n)/;
const LABEL =
  /(?:contact(?: person)?|name|full name|customer|client|attn|attention|ansprechpartner(?:in)?|kontakt|nom|nombre|nome|naam|contacto|contatto|referente|from|to|cc|signed|signé|firmado)\s*[:：]\s*"?$/iu;

/** Mailboxes of a role, not a person: what stands beside them is a team or a company ("Blue Bottle, support@…"). */
const ROLE_MAILBOX =
  /^(?:support|info|sales|help|helpdesk|contact|hello|hi|admin|billing|accounts|noreply|no-reply|office|team|service|customerservice|care|press|jobs|careers|hr|legal|privacy|security|orders|shop|store|booking|bookings|reservations|enquiries|inquiries|kontakt|service-client|atencion|ventas)$/i;

function roleAddress(email: string): boolean {
  return ROLE_MAILBOX.test(email.slice(0, email.indexOf("@")));
}

const NEAR_CONTACT = new RegExp(`(${EMAIL})|\\+?\\d[\\d ()./-]{6,}\\d`, "gu");

const PHONE_WORD =
  /\b(?:tel|tél|tfno|phone|telephone|telefon|téléphone|teléfono|telefone|mobile|mobil|móvil|cell|fax|whatsapp|t|m|p)\b/iu;

/**
 * True when the text starts with an email, a street address, or a phone: international (+, 00), with a trunk 0 or
 * an area code in brackets, North American 3-3-4, or any 7 to 15 digits after a phone word in the gap.
 */
function contactAt(text: string, gap: string): boolean {
  const match = CONTACT.exec(text);
  if (!match) return false;
  if (match[1] !== undefined) return !roleAddress(match[1]);
  const phone = match[2];
  if (phone === undefined) return true;
  const digits = phone.replace(/\D/g, "").length;
  if (digits < 7 || digits > 15) return false;
  return /^(?:\+|00|0|\()/.test(phone) || /^\d{3}[-. ]\d{3}[-. ]\d{4}$/.test(phone) || PHONE_WORD.test(gap);
}

/** True when an email, phone or street address follows the name, past punctuation and connecting words. */
function contactAfter(text: string, end: number): boolean {
  const after = text.slice(end, end + 80);
  const gap = AFTER.exec(after);
  return gap !== null && contactAt(after.slice(gap[0].length), gap[0]);
}

function contactNear(text: string, start: number, end: number): boolean {
  const window = text.slice(Math.max(0, start - 100), Math.min(text.length, end + 100));
  for (const match of window.matchAll(NEAR_CONTACT)) {
    if (match[1] === undefined || !roleAddress(match[1])) return true;
  }
  return false;
}

/** True when the name starts a word: not inside a word, an email address or a dotted name (`\n` in JSON counts). */
function startsWord(text: string, start: number): boolean {
  if (start === 0 || !/[\p{L}\p{N}@._'’-]/u.test(text[start - 1]!)) return true;
  return start >= 2 && /\\[nt]/.test(text.slice(start - 2, start));
}

/** Titles after which one surname is a name ("Mr D'Angelo", "Frau Weiß"). */
const TITLES = new Set(
  "mr mrs ms miss mx dr prof herr frau sr sra srta mme mlle signor signora sig dott dhr mevr pan pani".split(
    " ",
  ),
);

const LINE_START = /(?:^|\r?\n|\\n)[ \t]*(?:[-–—]{1,2}[ \t]*)?$/;
const CONTACT_LINE = new RegExp(
  `^(?:[^\\n]{0,60}(?:\\r?\\n|\\\\n)){1,3}?[^\\n]{0,30}?(?:(${EMAIL})|(?:\\+|00)\\d[\\d ()./-]{6,}\\d)`,
  "u",
);

/**
 * A signature block with no sign-off: a name of two words or more alone on its line, and an email address or an
 * international phone number within the next three lines ("Lukas Schmidt\nAcme GmbH\nlukas@…").
 */
function signatureBlock(text: string, start: number, end: number, words: number): boolean {
  if (words < 2 || !LINE_START.test(text.slice(Math.max(0, start - 6), start))) return false;
  const after = text.slice(end, end + 200);
  if (!LINE_END.test(after) || !/^[ \t]*(?:\r?\n|\\n)/.test(after)) return false;
  const contact = CONTACT_LINE.exec(after.replace(/^[ \t]*/, ""));
  return contact !== null && !(contact[1] !== undefined && roleAddress(contact[1]));
}

/** Cut greeting, title and label words off the front of a candidate; null when nothing name-like is left. */
function nameSpan({
  value,
  start,
}: Candidate): { start: number; end: number; words: string[]; titled: boolean } | null {
  const words = value.split(/[ \u00a0]+/);
  let offset = 0;
  let titled = false;
  for (let lead = words[0]; lead !== undefined; lead = words[0]) {
    const word = lead.replace(/[.]$/, "").toLowerCase();
    if (!LEAD_WORDS.has(word)) break;
    titled = TITLES.has(word);
    offset += lead.length + 1;
    words.shift();
  }
  if (words.length === 0) return null;
  return { start: start + offset, end: start + value.length, words, titled };
}

const WHOLE_NAME = new RegExp(`^${NAME}$`, "u");

/**
 * True when a whole string is written like a name — one to four capitalised words, none of them a role, team,
 * organisation, place or date word. For values a JSON key already calls a name (`"name"`, `"lastName"`), so a
 * single word is enough.
 */
export function writtenLikeName(value: string): boolean {
  const trimmed = value.trim();
  if (trimmed.length > 80 || !WHOLE_NAME.test(trimmed)) return false;
  return !trimmed
    .split(/[ \u00a0]+/)
    .some((word) => NOT_NAME_WORDS.has(word.toLowerCase()) || NOT_NAME_ENDING.test(word));
}

/** A person's name next to contact details (see the module comment). */
export const personName: Detector = {
  type: "person",
  class: "pii",
  // The start is checked in `validate` rather than by a lookbehind, which would run at every position.
  pattern: new RegExp(String.raw`${NAME}(?![\p{L}\p{N}@'’])`, "gu"),
  validate: (candidate) => {
    // Most candidates are one capitalised word: unless it is a given name, nothing below can make it one (a title
    // before it would have been part of the candidate).
    if (!/[ \u00a0]/.test(candidate.value) && !GIVEN_NAMES.has(candidate.value)) return false;
    if (!startsWord(candidate.text, candidate.start)) return false;
    const span = nameSpan(candidate);
    if (span === null) return false;
    const names = span.words.filter((word) => /^\p{Lu}/u.test(word) && !/^\p{Lu}\.$/u.test(word));
    if (names.some((word) => NOT_NAME_WORDS.has(word.toLowerCase()) || NOT_NAME_ENDING.test(word)))
      return false;
    if (names.length === 0 || (names.length < 2 && !span.titled && !GIVEN_NAMES.has(names[0]!))) return false;
    const { text } = candidate;
    const before = text.slice(Math.max(0, span.start - 80), span.start);
    // Cheapest first; each look-back pattern runs only when the character it needs is there.
    const tied =
      contactAfter(text, span.end) ||
      (/[@\d]/.test(before) && BEFORE_CONTACT.test(before)) ||
      (/\n|\\n/.test(before) && SIGN_OFF.test(before)) ||
      (LINE_END.test(text.slice(span.end, span.end + 4)) && SIGN_OFF_INLINE.test(before)) ||
      (/[:：]/.test(before) && LABEL.test(before) && contactNear(text, span.start, span.end)) ||
      signatureBlock(text, span.start, span.end, names.length);
    return tied ? { start: span.start, end: span.end } : false;
  },
};
