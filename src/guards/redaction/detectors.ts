import { API_KEY_DETECTORS } from "./api-key-detectors.ts";
import { CONTACT_DETECTORS } from "./contact-detectors.ts";
import { CREDENTIAL_DETECTORS } from "./credential-detectors.ts";
import type { Detector } from "./detector.ts";
import { FINANCIAL_DETECTORS } from "./financial-detectors.ts";
import { NATIONAL_ID_DETECTORS } from "./national-id-detectors.ts";
import { NETWORK_DETECTORS } from "./network-detectors.ts";
import { PASSPORT_DETECTORS } from "./passport-detectors.ts";
import { personName } from "./person-name-detector.ts";

/**
 * Every detector, in priority order: when two findings overlap, the earlier detector's wins. Secrets come first
 * (a connection string contains something shaped like an email), then the identifiers with check digits, then
 * the looser shapes (addresses, phones), and last the names tied to them.
 */
export const DETECTORS: readonly Detector[] = [
  ...CREDENTIAL_DETECTORS.filter((detector) => detector.type === "private_key" || detector.type === "jwt"),
  ...API_KEY_DETECTORS,
  ...CREDENTIAL_DETECTORS.filter((detector) => detector.type !== "private_key" && detector.type !== "jwt"),
  ...FINANCIAL_DETECTORS,
  ...NETWORK_DETECTORS,
  ...PASSPORT_DETECTORS,
  ...NATIONAL_ID_DETECTORS,
  ...CONTACT_DETECTORS,
  personName,
];
