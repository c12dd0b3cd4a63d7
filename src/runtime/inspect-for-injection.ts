import { DEFAULT_DETECTOR, type InjectionClass, keysAndStrings } from "../guards/index.ts";
import type { NewEvent } from "../journal/index.ts";
import { hashPayload } from "../journal/index.ts";
import type { InjectionAction } from "../spec/index.ts";
import type { AgentDefinition } from "./agent-definition.ts";
import { type DetectorVerdict, rulesDetector } from "./injection-detectors.ts";

/** Echoes shorter than this are too common to be told from chance ("a", "Refund"). */
const MIN_ECHO = 20;

/** The built-in detectors, by the spec's `guards.injection.builtIn`. */
const BUILT_IN = { rules: rulesDetector("rules"), combined: rulesDetector("combined") } as const;

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

/** The combined verdict of an agent's detectors on one text. */
export type CombinedVerdict = {
  detected: boolean;
  /** The highest score of any detector (1 for a failed detector counted as a finding). */
  score: number;
  /** The threshold of the detector with that score. */
  threshold: number;
  rules: string[];
  classes: InjectionClass[];
  verdicts: DetectorVerdict[];
};

/** A finding, and the `guard-flag` event that records it with the action taken. */
export type InjectionFinding = {
  verdict: CombinedVerdict;
  textHash: string;
  event: Extract<NewEvent, { type: "guard-flag" }>;
};

/**
 * Inspect text entering a run with the built-in rules and the agent's model-based detectors, in parallel, combined
 * as its spec's `guards.injection` says: `any` (a finding when one flags) or `all`; a detector that failed counts
 * as a finding under `onError: flag` and as nothing found under `pass`. Null when nothing was found. The event
 * carries the scores, rules and classes, each model detector's verdict, cost and time, and a hash of the text,
 * never the text itself.
 */
export async function inspectForInjection(options: {
  agent: AgentDefinition;
  text: string;
  action: Exclude<InjectionAction, "off">;
  where: { kind: "input" } | { kind: "tool-result"; tool: string; callId: string };
  signal: AbortSignal;
}): Promise<InjectionFinding | null> {
  const { text, where, agent } = options;
  const source = where.kind === "input" ? "input" : "tool-result";
  const builtIn = BUILT_IN[agent.guards?.injection.builtIn ?? DEFAULT_DETECTOR];
  const detectors = [builtIn, ...(agent.injectionDetectors ?? [])];
  const verdicts = await Promise.all(
    detectors.map((detector) => detector.inspect(text, { source, signal: options.signal })),
  );
  const verdict = combineVerdicts(verdicts, {
    combine: agent.guards?.injection.combine ?? "any",
    onError: agent.guards?.injection.onError ?? "flag",
  });
  if (!verdict.detected) return null;
  const textHash = hashPayload(text);
  const flagged = verdicts.filter((each) => each.flagged || each.error !== undefined);
  const models = verdicts.filter((each) => each.detector !== builtIn.name);
  return {
    verdict,
    textHash,
    event: {
      type: "guard-flag",
      payload: {
        where: where.kind,
        ...(where.kind === "tool-result" ? { tool: where.tool, callId: where.callId } : {}),
        detector: flagged.map((each) => each.detector).join("+") || builtIn.name,
        score: verdict.score,
        threshold: verdict.threshold,
        rules: verdict.rules,
        classes: verdict.classes,
        action: options.action,
        textHash,
        textLength: text.length,
        ...(models.length > 0
          ? {
              detectors: verdicts.map((each) => ({
                detector: each.detector,
                flagged: each.flagged,
                score: each.score,
                threshold: each.threshold,
                durationMs: Math.round(each.durationMs * 1000) / 1000,
                ...(each.usd === undefined ? {} : { usd: each.usd }),
                ...(each.error === undefined ? {} : { error: each.error }),
              })),
            }
          : {}),
      },
    },
  };
}

/**
 * Combine detectors' verdicts: under `any` one flag is a finding, under `all` every detector must flag. A failed
 * detector counts as flagging (`onError: flag`, fail closed, rule `detector-failed:<name>`) or not (`pass`).
 */
export function combineVerdicts(
  verdicts: readonly DetectorVerdict[],
  policy: { combine: "any" | "all"; onError: "flag" | "pass" },
): CombinedVerdict {
  const counts = (each: DetectorVerdict) =>
    each.error === undefined ? each.flagged : policy.onError === "flag";
  const detected =
    policy.combine === "any" ? verdicts.some(counts) : verdicts.length > 0 && verdicts.every(counts);
  const scoreOf = (each: DetectorVerdict) =>
    each.error !== undefined && policy.onError === "flag" ? 1 : each.score;
  const top = verdicts.reduce<DetectorVerdict | null>(
    (best, each) => (best === null || scoreOf(each) > scoreOf(best) ? each : best),
    null,
  );
  // Only what counted towards the finding is named: a detector that did not flag may still have matched rules
  // (the built-in one reports the learned model's score below its threshold), and naming those would say they
  // decided.
  const rules = verdicts.flatMap((each) =>
    each.error !== undefined
      ? policy.onError === "flag"
        ? [`detector-failed:${each.detector}`]
        : []
      : each.flagged
        ? each.rules
        : [],
  );
  const classes = [
    ...new Set(verdicts.flatMap((each) => (each.error === undefined && each.flagged ? each.classes : []))),
  ];
  return {
    detected,
    score: top === null ? 0 : scoreOf(top),
    threshold: top?.threshold ?? 1,
    rules,
    classes,
    verdicts: [...verdicts],
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
  return keysAndStrings(result, (value) => {
    const text = withoutEcho(value);
    return text === "" ? null : text;
  }).join("\n");
}
