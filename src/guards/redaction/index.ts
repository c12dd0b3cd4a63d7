/**
 * PII and secret redaction: detectors for 37 entity types (regular expressions plus check digits, ranges and
 * context), masking of texts and JSON values with typed placeholders, and sealing of originals (AES-256-GCM).
 */
export { detectEntities, type Finding } from "./detect-entities.ts";
export {
  ENTITY_CLASSES,
  ENTITY_TYPES,
  type EntityClass,
  type EntityType,
  isPlaceholder,
  placeholderFor,
} from "./entity-types.ts";
export { createPayloadSealer, type PayloadSealer, type SealedPayload } from "./payload-sealer.ts";
export { type RedactedText, redactText } from "./redact-text.ts";
export { type RedactedValue, redactValue, type ValueFinding } from "./redact-value.ts";
