import { Buffer } from "node:buffer";
import type { Candidate, Detector } from "./detector.ts";
import { isPlaceholder } from "./entity-types.ts";

/** Values that stand for a secret without being one: masks, templates, variables, words such as "required". */
const NOT_A_SECRET =
  /^(?:\*+|x{3,}|X{3,}|•+|\.{3,}|<[^>]*>|\$\{[^}]*\}?|\{\{[^}]*\}?\}?|%\(?\w*\)?s?|\$[A-Z_][A-Z0-9_]*|null|none|nil|undefined|true|false|required|optional|empty|missing|invalid|incorrect|wrong|expired|reset|changed|hidden|redacted|masked|secret|password|passwd|your[_-]?\w*|\w*[_-]here|example\w*|sample\w*|placeholder|changeme_?here|dummy|test|string|hunter2_example|\[REDACTED[^\]]*\]?|REDACTED|env\(.*|process\.env.*|os\.environ.*|getenv.*|vault:.*|arn:aws:secretsmanager.*)$/i;

function realValue(value: string): boolean {
  const trimmed = value.replace(/^["'`]|["'`,;]$/g, "");
  // Vendors' documentation keys carry the word EXAMPLE in capitals (AWS's wJalrXUtnFEMI/…/bPxRfiCYEXAMPLEKEY).
  return (
    trimmed.length >= 6 &&
    !NOT_A_SECRET.test(trimmed) &&
    !isPlaceholder(trimmed) &&
    !trimmed.includes("EXAMPLE")
  );
}

/** A value with letters and digits (or symbols) mixed, as generated keys are: not an English word or an id like 42. */
function keyLike(value: string): boolean {
  const classes = [/[a-z]/, /[A-Z]/, /\d/, /[^A-Za-z0-9]/].filter((pattern) => pattern.test(value)).length;
  return value.length >= 12 && classes >= 2 && /\d/.test(value) && !/^\d+$/.test(value);
}

/** The header of a JSON Web Token: base64url JSON naming an algorithm. */
function decodesAsJwtHeader({ value }: Candidate): boolean {
  try {
    const header = JSON.parse(Buffer.from(value.slice(0, value.indexOf(".")), "base64url").toString("utf8"));
    return typeof header === "object" && header !== null && typeof header.alg === "string";
  } catch {
    return false;
  }
}

const CONNECTION_SCHEMES =
  "postgres(?:ql)?|mysql|mariadb|mongodb(?:\\+srv)?|redis|rediss|amqps?|mssql|sqlserver|jdbc:[a-z]+|ftps?|sftp|smtps?|ldaps?|nats|kafka|clickhouse|cockroachdb|couchdb|neo4j(?:\\+s)?|https?";

/**
 * Credentials recognised by their shape or their label: JWTs, PEM private keys, connection strings with a
 * password, passwords and keys in assignments (`password=…`, `"api_key": "…"`, `export AWS_SECRET_ACCESS_KEY=…`),
 * and bearer tokens.
 */
export const CREDENTIAL_DETECTORS: readonly Detector[] = [
  {
    type: "private_key",
    class: "secrets",
    pattern:
      /-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?)-----(?:[\s\S]{16,}?-----END \1-----|(?:\\n|[\sA-Za-z0-9+/=:,-]){64,})/g,
    hint: /PRIVATE KEY/,
  },
  {
    type: "jwt",
    class: "secrets",
    pattern: /(?<![\w-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*(?![\w-])/g,
    hint: /eyJ/,
    validate: decodesAsJwtHeader,
  },
  {
    type: "connection_string",
    class: "secrets",
    pattern: new RegExp(
      `(?<![\\w+.-])(?:${CONNECTION_SCHEMES}):\\/\\/([^\\s:@\\/"'<>]+):([^\\s@\\/"'<>]+)@[^\\s\\/:?#"'<>,;)]+(?::\\d+)?(?:\\/[^\\s"'<>,;)]*)?`,
      "gi",
    ),
    hint: /:\/\//,
    validate: ({ groups }) => realValue(groups[1]!) && !/^(?:pass|pwd|pw)$/i.test(groups[1]!),
  },
  {
    type: "aws_secret_access_key",
    class: "secrets",
    pattern:
      /(?:aws_?secret_?(?:access_?)?key|secret_?access_?key|SecretAccessKey)["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/gi,
    group: [1],
    hint: /secret/i,
    validate: ({ groups }) => !groups[0]!.includes("EXAMPLE") && keyLike(groups[0]!),
  },
  {
    type: "password",
    class: "secrets",
    pattern:
      /(?<![A-Za-z])(?:password|passwd|passwort|passphrase|pwd|pass|mot_de_passe|contraseña)["']?\s*(?:[:=]|=>)\s*["'`]?([^\s"'`,;&]{4,})|(?<![A-Za-z])(?:password|passphrase|passcode)\s+(?:is|was|:)\s+["'`]?([^\s"'`,;]{6,})/gi,
    group: [1, 2],
    hint: /pass|pwd|mot_de|contrase/i,
    validate: ({ groups, value }) => {
      const secret = groups[0] ?? groups[1] ?? "";
      if (!realValue(secret)) return false;
      // In prose ("the password is …") only something that is not a plain word counts.
      if (groups[1] !== undefined && /^[A-Za-z]+[.!?]?$/.test(secret)) return false;
      return value.length > 0;
    },
  },
  {
    type: "credential",
    class: "secrets",
    pattern:
      /(?<![A-Za-z])(?:api[_-]?key|apikey|access[_-]?key|secret[_-]?key|client[_-]?secret|auth[_-]?token|access[_-]?token|refresh[_-]?token|private[_-]?token|secret|token|AccountKey|SharedAccessKey)["']?\s*(?:[:=]|=>)\s*["'`]?([A-Za-z0-9_\-+/=.~]{12,})/gi,
    group: [1],
    hint: /key|secret|token/i,
    validate: ({ groups }) => realValue(groups[0]!) && keyLike(groups[0]!),
  },
  {
    type: "bearer_token",
    class: "secrets",
    pattern: /\b(?:[Bb]earer|BEARER|Basic|Token)\s+([A-Za-z0-9\-._~+/]{16,}=*)(?![\w-])/g,
    group: [1],
    hint: /earer|EARER|Basic|Token/,
    validate: ({ groups }) => realValue(groups[0]!) && keyLike(groups[0]!),
  },
];
