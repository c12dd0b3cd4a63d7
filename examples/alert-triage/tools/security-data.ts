import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

const Evidence = z.strictObject({
  available: z.boolean().default(true),
  suspicious: z.boolean(),
  summary: z.string(),
});
const SecurityData = z.strictObject({
  alerts: z.array(
    z.strictObject({
      id: z.string(),
      kind: z.string(),
      host: z.string(),
      user: z.string(),
      severity: z.enum(["low", "medium", "high", "critical"]),
      ioc: z.string(),
    }),
  ),
  hosts: z.array(
    z.strictObject({
      host: z.string(),
      owner: z.string(),
      role: z.string(),
      critical: z.boolean(),
      /** The host's log index: unavailable for some hosts, so a log search there fails. */
      logs: Evidence,
      /** The endpoint agent's process timeline: the other source of what ran on a host. */
      edr: Evidence,
    }),
  ),
  users: z.array(
    z.strictObject({
      user: z.string(),
      department: z.string(),
      privileged: z.boolean(),
      suspicious: z.boolean(),
      summary: z.string(),
    }),
  ),
  iocs: z.array(z.strictObject({ value: z.string(), malicious: z.boolean(), source: z.string() })),
});
export type SecurityData = z.infer<typeof SecurityData>;

/** The bundled alerts, hosts, users and threat feed (`../data/security.json`). */
export function readSecurityData(): SecurityData {
  const file = join(import.meta.dirname, "..", "data", "security.json");
  return SecurityData.parse(JSON.parse(readFileSync(file, "utf8")));
}
