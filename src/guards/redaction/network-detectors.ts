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

/** Words that make a dotted quad a version: firmware 10.0.0.12, version 4.3.2.1, build 7.1.0.3. */
const VERSION_BEFORE =
  /\b(?:v|ver\.?|version|versión|versione|versie|release|rel\.?|build|rev\.?|revision|firmware|fw|software|sw|bios|uefi|driver|kernel|patch|hotfix|update|upgrade|upgraded|updated|android|ios|macos|chrome|firefox|safari|sdk|package|pkg|library|plugin|tag|edition)\b[\s:=@-]{0,3}(?:(?:to|from|is|of|auf|à|a|en|naar)\s+)?v?$/i;
const VERSION_AFTER =
  /^\s*\(?(?:build|firmware|fw|release|version|update|patch|hotfix|beta|alpha|rc\d?|lts|stable|-?(?:beta|alpha|rc|snapshot))\b/i;
/** Words that make a dotted quad an address even next to a version word: "firmware update failed on host 10.0.0.12". */
const ADDRESS_BEFORE =
  /\b(?:ip|ipv4|addr|address|host|hostname|server|client_ip|remote_addr|src|dst|source|destination|gateway|gw|dns|nameserver|router|peer|ping|ssh|connect(?:ed|ing)?|login|listen(?:ing)?|bind|proxy|subnet|inet)\b[\s:=@]{0,3}$/i;

/**
 * An IPv4 address in dotted-quad form, not part of a longer dotted number, and not a version: a version word
 * just before it (firmware, version, build, v …) or just after it, unless an address word is right before it.
 */
const ipv4: Detector = {
  type: "ipv4",
  class: "pii",
  pattern: new RegExp(String.raw`(?<![\w.]|\d\.)${OCTET}(?:\.${OCTET}){3}(?![\w]|\.\d)`, "g"),
  hint: /\d\.\d/,
  validate: ({ text, start, end, value }) => {
    if (!personalIpv4(value.split(".").map(Number))) return false;
    if (labelledBefore(text, start, ADDRESS_BEFORE, 20)) return true;
    return !labelledBefore(text, start, VERSION_BEFORE, 24) && !VERSION_AFTER.test(text.slice(end, end + 16));
  },
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
