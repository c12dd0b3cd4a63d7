import { isIPv6 } from "node:net";
import { type Detector, labelledBefore } from "./detector.ts";

/** Addresses that name no one: unspecified, loopback, multicast and broadcast, netmasks, RFC 5737 documentation. */
function personalIpv4(octets: readonly number[]): boolean {
  const [a, b, c] = octets as [number, number, number, number];
  if (a === 0 || a === 127 || a >= 224) return false;
  if (a === 255) return false;
  if (
    (a === 192 && b === 0 && c === 2) ||
    (a === 198 && b === 51 && c === 100) ||
    (a === 203 && b === 0 && c === 113)
  ) {
    return false;
  }
  return true;
}

const OCTET = String.raw`(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)`;

/** An IPv4 address in dotted-quad form, not part of a version string or a longer dotted number. */
const ipv4: Detector = {
  type: "ipv4",
  class: "pii",
  pattern: new RegExp(String.raw`(?<![\w.]|\d\.)${OCTET}(?:\.${OCTET}){3}(?![\w]|\.\d)`, "g"),
  hint: /\d\.\d/,
  validate: ({ text, start, value }) =>
    !labelledBefore(text, start, /\b(?:v|version|ver\.?|release|build|rev)\s*$/i, 12) &&
    personalIpv4(value.split(".").map(Number)),
};

/** An IPv6 address, checked with the platform's parser; loopback, unspecified and 2001:db8::/32 are left. */
const ipv6: Detector = {
  type: "ipv6",
  class: "pii",
  pattern:
    /(?<![\w:.])(?:[0-9A-Fa-f]{1,4}:|:(?=:))(?:[0-9A-Fa-f]{0,4}:){1,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?:%[\w.]+)?(?![\w:])/g,
  hint: /:/,
  validate: ({ value }) => {
    const address = value.replace(/%.*$/, "");
    if (!isIPv6(address)) return false;
    const lower = address.toLowerCase();
    if (lower === "::" || lower === "::1") return false;
    return !/^2001:0?db8:/.test(lower);
  },
};

/** A MAC address (six octets with colons or dashes, or Cisco's dotted form); all-zero and broadcast are left. */
const macAddress: Detector = {
  type: "mac_address",
  class: "pii",
  pattern:
    /(?<![\w:.-])(?:[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}|[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4})(?![\w:.-])/g,
  validate: ({ value }) => {
    const hex = value.replace(/[:.-]/g, "").toLowerCase();
    return hex !== "000000000000" && hex !== "ffffffffffff";
  },
};

/** Network identifiers: IPv6 before MAC before IPv4 so the longer forms win. */
export const NETWORK_DETECTORS: readonly Detector[] = [ipv6, macAddress, ipv4];
