import { detectInjection, type InjectionClass, type InjectionVerdict } from "../guards/index.ts";
import type { NewEvent } from "../journal/index.ts";
import { hashPayload } from "../journal/index.ts";
import type { InjectionAction } from "../spec/index.ts";
import type { AgentDefinition } from "./agent-definition.ts";

/** Echoes shorter than this are too common to be told from chance ("a", "Refund"). */
const MIN_ECHO = 20;

/** The detector named on every `guard-flag`; the number changes whenever its rules, model or threshold do. */
export const INJECTION_DETECTOR = "injection@2";

/** What the agent's spec says to do with an injection found in its input and in tool results. */
export function injectionActions(agent: AgentDefinition): {
  input: InjectionAction;
  toolResults: InjectionAction;
} {
  return {
    input: agent.guards?.input.injection ?? "block",
    toolResults: agent.guards?.toolResults.injection ?? "review",
  };
}

/** A finding, and the `guard-flag` event that records it with the action taken. */
export type InjectionFinding = {
  verdict: InjectionVerdict;
  textHash: string;
  event: Extract<NewEvent, { type: "guard-flag" }>;
};

/**
 * Inspect text entering a run; null when nothing was found. The event carries the score, rules and classes and
 * a hash of the text, never the text itself.
 */
export function inspectForInjection(options: {
  text: string;
  action: Exclude<InjectionAction, "off">;
  where: { kind: "input" } | { kind: "tool-result"; tool: string; callId: string };
}): InjectionFinding | null {
  const { text, where } = options;
  const verdict = detectInjection(text, { source: where.kind === "input" ? "input" : "tool-result" });
  if (!verdict.detected) return null;
  const textHash = hashPayload(text);
  return {
    verdict,
    textHash,
    event: {
      type: "guard-flag",
      payload: {
        where: where.kind,
        ...(where.kind === "tool-result" ? { tool: where.tool, callId: where.callId } : {}),
        detector: INJECTION_DETECTOR,
        score: verdict.score,
        threshold: verdict.threshold,
        rules: verdict.findings.map((finding) => finding.rule),
        classes: verdict.classes,
        action: options.action,
        textHash,
        textLength: text.length,
      },
    },
  };
}

const CLASS_WORDS: Record<InjectionClass, string> = {
  instruction_override: "overriding my instructions",
  prompt_leakage: "revealing my configuration",
  secret_exfiltration: "revealing secrets",
  data_exfiltration: "sending data somewhere else",
  tool_abuse: "misusing my tools",
  role_spoofing: "posing as the system",
  memory_poisoning: "planting standing orders",
  data_boundary: "reaching data outside the request's scope",
  indirect_injection: "instructions addressed to the assistant",
  obfuscation: "wording disguised by encoding",
  hidden_content: "text hidden from a reader",
};

/** The classes of a finding in plain words, for people: "overriding my instructions, revealing my configuration". */
export function describeClasses(classes: readonly string[]): string {
  const words = classes
    .filter((name): name is InjectionClass => name in CLASS_WORDS)
    .map((name) => CLASS_WORDS[name]);
  return words.length > 0 ? words.join(", ") : "instructions aimed at the assistant";
}

/**
 * The text of a tool result as the model would read it: a string as is; for structured results every string
 * value (and object key) in document order, one per line. Strings the run's own input contains are left out: a
 * tool echoing the user's words (a ticket's body) is not an indirect injection, and the input guard has seen them.
 */
export function inspectableText(result: unknown, input = ""): string {
  const withoutEcho = (text: string): string => {
    if (input.length < MIN_ECHO) return text;
    if (text.length >= MIN_ECHO && input.includes(text)) return "";
    return text.includes(input) ? text.split(input).join(" ") : text;
  };
  if (typeof result === "string") return withoutEcho(result);
  const parts: string[] = [];
  const visit = (value: unknown, depth: number) => {
    if (depth > 32) return;
    if (typeof value === "string") {
      const text = withoutEcho(value);
      if (text !== "") parts.push(text);
    } else if (Array.isArray(value)) for (const item of value) visit(item, depth + 1);
    else if (value !== null && typeof value === "object") {
      for (const [key, item] of Object.entries(value)) {
        parts.push(key);
        visit(item, depth + 1);
      }
    }
  };
  visit(result, 0);
  return parts.join("\n");
}
