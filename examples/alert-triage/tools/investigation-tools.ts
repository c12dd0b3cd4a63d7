import { z } from "zod";
import { KeelError } from "../../../src/errors/keel-error.ts";
import { defineTool } from "../../../src/tools/tool.ts";
import type { SecurityData } from "./security-data.ts";

const AlertOutput = z.strictObject({
  found: z.boolean(),
  id: z.string(),
  kind: z.string(),
  host: z.string(),
  user: z.string(),
  severity: z.string(),
  ioc: z.string(),
  /** Whether the host is critical and the user privileged: the containment calls' governance reads them. */
  hostCritical: z.boolean(),
  userPrivileged: z.boolean(),
});

/** `get_alert`: the alert whose id (ALR-1234) the text names first, with its host's and user's standing. */
export function createGetAlertTool(data: SecurityData) {
  return defineTool({
    name: "get_alert",
    description: "Read a security alert by its id (ALR-1234): kind, host, user, severity and indicator.",
    input: z.strictObject({ query: z.string().max(2000) }),
    output: AlertOutput,
    dataClasses: ["internal"],
    async execute({ query }) {
      const id = /\bALR-\d{4}\b/i.exec(query)?.[0].toUpperCase();
      const alert = id ? data.alerts.find((candidate) => candidate.id === id) : undefined;
      if (!alert) {
        return {
          found: false,
          id: id ?? "",
          kind: "",
          host: "",
          user: "",
          severity: "",
          ioc: "",
          hostCritical: false,
          userPrivileged: false,
        };
      }
      return {
        found: true,
        ...alert,
        hostCritical: data.hosts.find((host) => host.host === alert.host)?.critical ?? false,
        userPrivileged: data.users.find((user) => user.user === alert.user)?.privileged ?? false,
      };
    },
  });
}

export const StepAction = z.enum(["host_info", "user_info", "search_logs", "edr_timeline", "check_ioc"]);
const StepOutput = z.strictObject({
  action: StepAction,
  target: z.string(),
  malicious: z.boolean(),
  summary: z.string(),
});
type StepOutput = z.infer<typeof StepOutput>;

/**
 * `run_step`: one investigation step of a plan — a host's inventory, a user's sign-ins, a log search, the endpoint
 * timeline or a threat-feed look-up. A log search on a host whose log index is down fails (the plan is then redone).
 */
export function createRunStepTool(data: SecurityData) {
  return defineTool({
    name: "run_step",
    description:
      "Run one investigation step: host_info, user_info, search_logs or edr_timeline on a host or user, check_ioc on an indicator.",
    input: z.strictObject({ action: StepAction, target: z.string().trim().min(1).max(200) }),
    output: StepOutput,
    // Sign-in histories are personal data.
    dataClasses: ["internal", "pii"],
    async execute({ action, target }): Promise<StepOutput> {
      const result = (malicious: boolean, summary: string) => ({ action, target, malicious, summary });
      if (action === "check_ioc") {
        const ioc = data.iocs.find((entry) => entry.value === target);
        return ioc
          ? result(ioc.malicious, `${target}: ${ioc.malicious ? "malicious" : "benign"}, ${ioc.source}.`)
          : result(false, `${target}: not in the threat feed.`);
      }
      if (action === "user_info") {
        const user = data.users.find((entry) => entry.user === target);
        if (!user) throw new KeelError("not_found", `No user ${target} is in the directory.`);
        return result(
          user.suspicious,
          `${target} (${user.department}${user.privileged ? ", privileged" : ""}): ${user.summary}.`,
        );
      }
      const host = data.hosts.find((entry) => entry.host === target);
      if (!host) throw new KeelError("not_found", `No host ${target} is in the inventory.`);
      if (action === "host_info")
        return result(false, `${target}: ${host.role} of ${host.owner}${host.critical ? ", critical" : ""}.`);
      const evidence = action === "search_logs" ? host.logs : host.edr;
      if (!evidence.available) {
        throw new KeelError(
          "unavailable",
          `The ${action === "search_logs" ? "log index" : "endpoint agent"} of ${target} is unavailable.`,
        );
      }
      return result(
        evidence.suspicious,
        `${target} ${action === "search_logs" ? "logs" : "endpoint timeline"}: ${evidence.summary}.`,
      );
    },
  });
}

const AssessInput = z.strictObject({
  alertId: z.string(),
  kind: z.string(),
  host: z.string(),
  user: z.string(),
  round: z.number().int().min(1),
  /** The map's outputs in step order; a failed step's place holds no finding. */
  findings: z.array(z.unknown()).default([]),
  /** The failed steps as the map records them ({index, error}). */
  failed: z.array(z.unknown()).default([]),
});
const AssessOutput = z.strictObject({
  confirmed: z.boolean(),
  failed: z.number().int(),
  verdict: z.string(),
});

/**
 * `assess_findings`: what the executed steps found — confirmed malicious when any finding is — and how many steps
 * failed, with a verdict for the analyst. Pure: the same findings give the same verdict.
 */
export function createAssessFindingsTool() {
  return defineTool({
    name: "assess_findings",
    description:
      "Assess an alert's investigation findings: confirmed malicious or not, and how many steps failed.",
    input: AssessInput,
    output: AssessOutput,
    dataClasses: ["internal"],
    async execute(input) {
      const findings = input.findings.flatMap((entry) => {
        const parsed = StepOutput.safeParse(entry);
        return parsed.success ? [parsed.data] : [];
      });
      const confirmed = findings.some((finding) => finding.malicious);
      const verdict = [
        `Alert ${input.alertId} (${input.kind} on ${input.host}, user ${input.user}): ${
          confirmed ? "confirmed malicious" : "no malicious activity found"
        }.`,
        ...(input.round > 1 ? ["Re-planned once after a failed step."] : []),
        ...findings.map((finding) => `${finding.malicious ? "[!] " : ""}${finding.summary}`),
      ].join(" ");
      return { confirmed, failed: input.failed.length, verdict };
    },
  });
}
