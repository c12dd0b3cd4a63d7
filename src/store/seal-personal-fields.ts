import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/** A data subject's key: the random id journal payloads name it by, and its 32 bytes (AES-256-GCM). */
export type SubjectKey = { keyId: string; key: Buffer };

/**
 * What a sealed field reads as once its subject's key is gone: never a 500, never a wrong value. A field that held
 * a string reads as `ERASED_TEXT`, so every reader typed for a string still gets one; any other as `ERASED`.
 */
export const ERASED = Object.freeze({ erased: true });
export const ERASED_TEXT = "[erased]";

/**
 * The personal fields of each event type, by path (`*` is every element of an array): the free text and values a
 * person's data may be in. Everything else stays plain for SQL readers, metrics and the trace: types, ids, tool
 * names, steps, statuses, usage, costs, decisions, hashes, data classes.
 */
export const PERSONAL_FIELDS: Readonly<Record<string, readonly string[]>> = {
  "run-start": ["input"],
  "context-carry": ["summary", "workingMemory", "messages"],
  "model-call-end": [
    "decision.text",
    "decision.calls.*.arguments",
    "streamedText",
    "outputRejection",
    "error.message",
  ],
  "tool-call-propose": ["arguments"],
  "tool-call-end": ["result", "error.message"],
  "node-end": ["output", "alsoWrites.*.output", "error.message"],
  "child-end": ["answer", "output", "error.message"],
  "branch-end": ["output", "error.message"],
  "approval-request": ["summary", "arguments", "context.input", "context.recent"],
  "approval-decision": ["comment", "resolution", "values"],
  "signal-receive": ["payload"],
  "run-end": ["answer", "output", "error.message"],
};

const SEALED_KEY = "$sealed";
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The payload with each personal field replaced by `{"$sealed": "<key id>:<s|j>:<base64 of iv, tag, ciphertext>"}`
 * (`s` when it held a string, `j` for any other JSON), encrypted under the subject's key with the key id as
 * associated data. A payload with none of them is returned as it is.
 */
export function sealPersonalFields(type: string, payload: unknown, subjectKey: SubjectKey): unknown {
  return mapPersonalFields(type, payload, (value) => sealValue(value, subjectKey));
}

/**
 * The payload with each sealed field opened with its key from `keys`, or read as `{"erased": true}` when the key is
 * gone (or the text does not open under it). Fields that are not sealed are returned as they are.
 */
export function openPersonalFields(
  type: string,
  payload: unknown,
  keys: ReadonlyMap<string, Buffer>,
): unknown {
  return mapPersonalFields(type, payload, (value) => (isSealed(value) ? openValue(value, keys) : value));
}

/** The payload with each personal field stored as erased: for a run whose subject was erased while it went on. */
export function erasePersonalFields(type: string, payload: unknown): unknown {
  return mapPersonalFields(type, payload, erasedOf);
}

/** The ids of the keys a payload's sealed fields name, so a reader fetches them in one query. */
export function sealedKeyIds(type: string, payload: unknown, into: Set<string>): void {
  mapPersonalFields(type, payload, (value) => {
    if (isSealed(value)) into.add(keyIdOf(value[SEALED_KEY]));
    return value;
  });
}

/** Whether an event type has fields that are sealed for a run with a data subject. */
export function hasPersonalFields(type: string): boolean {
  return PERSONAL_FIELDS[type] !== undefined;
}

function sealValue(value: unknown, { keyId, key }: SubjectKey): unknown {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(keyId, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
  const sealed = Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString("base64");
  return { [SEALED_KEY]: `${keyId}:${typeof value === "string" ? "s" : "j"}:${sealed}` };
}

/** What a field reads as once erased, by what it held. */
function erasedOf(value: unknown): unknown {
  return typeof value === "string" ? ERASED_TEXT : ERASED;
}

function openValue(value: { [SEALED_KEY]: string }, keys: ReadonlyMap<string, Buffer>): unknown {
  const text = value[SEALED_KEY];
  const keyId = keyIdOf(text);
  const erased = text.slice(keyId.length + 1, keyId.length + 3) === "s:" ? ERASED_TEXT : ERASED;
  const key = keys.get(keyId);
  if (!key) return erased;
  try {
    const bytes = Buffer.from(text.slice(keyId.length + 3), "base64");
    const decipher = createDecipheriv("aes-256-gcm", key, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(keyId, "utf8"));
    decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    const plain = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
    return JSON.parse(plain.toString("utf8"));
  } catch {
    // A text that does not open under its key is unreadable, not a value: the reader sees it as erased.
    return erased;
  }
}

function keyIdOf(text: string): string {
  const colon = text.indexOf(":");
  return colon < 0 ? text : text.slice(0, colon);
}

function isSealed(value: unknown): value is { [SEALED_KEY]: string } {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as Record<string, unknown>)[SEALED_KEY] === "string"
  );
}

/** Apply `change` to every personal field present in the payload, copying only the objects on the way. */
function mapPersonalFields(type: string, payload: unknown, change: (value: unknown) => unknown): unknown {
  const paths = PERSONAL_FIELDS[type];
  if (!paths) return payload;
  let result = payload;
  for (const path of paths) result = mapAt(result, path.split("."), change);
  return result;
}

function mapAt(value: unknown, path: readonly string[], change: (value: unknown) => unknown): unknown {
  if (path.length === 0) return change(value);
  const [head, ...rest] = path;
  if (head === "*") {
    if (!Array.isArray(value)) return value;
    let copy: unknown[] | undefined;
    value.forEach((element, index) => {
      const next = mapAt(element, rest, change);
      if (next !== element) {
        copy ??= [...value];
        copy[index] = next;
      }
    });
    return copy ?? value;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const record = value as Record<string, unknown>;
  if (!(head! in record) || record[head!] === undefined) return value;
  const next = mapAt(record[head!], rest, change);
  return next === record[head!] ? value : { ...record, [head!]: next };
}
