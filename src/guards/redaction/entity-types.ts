/** Which class each entity type belongs to: personal data (`pii`) or credentials and keys (`secrets`). */
export const ENTITY_CLASSES = {
  email: "pii",
  phone: "pii",
  us_ssn: "pii",
  uk_nino: "pii",
  uk_nhs_number: "pii",
  de_tax_id: "pii",
  fr_nir: "pii",
  es_dni: "pii",
  in_aadhaar: "pii",
  nl_bsn: "pii",
  br_cpf: "pii",
  passport: "pii",
  payment_card: "pii",
  iban: "pii",
  ipv4: "pii",
  ipv6: "pii",
  mac_address: "pii",
  street_address: "pii",
  date_of_birth: "pii",
  person: "pii",
  aws_access_key_id: "secrets",
  aws_secret_access_key: "secrets",
  github_token: "secrets",
  gitlab_token: "secrets",
  slack_token: "secrets",
  stripe_key: "secrets",
  google_api_key: "secrets",
  openai_api_key: "secrets",
  anthropic_api_key: "secrets",
  sendgrid_api_key: "secrets",
  npm_token: "secrets",
  jwt: "secrets",
  private_key: "secrets",
  connection_string: "secrets",
  password: "secrets",
  credential: "secrets",
  bearer_token: "secrets",
} as const;

/** One kind of sensitive value the redactor finds, such as `email` or `aws_access_key_id`. */
export type EntityType = keyof typeof ENTITY_CLASSES;

/** The two classes a spec's `guards.*.redact` lists choose from. */
export type EntityClass = (typeof ENTITY_CLASSES)[EntityType];

/** Every entity type, in the order the documentation lists them. */
export const ENTITY_TYPES = Object.keys(ENTITY_CLASSES) as EntityType[];

/** The text that replaces a masked value: stable, typed, and never itself mistaken for a secret. */
export function placeholderFor(type: EntityType): string {
  return `[REDACTED:${type}]`;
}

/** True for a value that is already a redaction placeholder, so redacting twice changes nothing. */
export function isPlaceholder(value: string): boolean {
  return /^\[REDACTED:[a-z0-9_]+\]$/.test(value);
}
