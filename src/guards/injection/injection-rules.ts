import type { HitConcept } from "./concept-hits.ts";

/** What kind of attack a rule points to; findings carry these so alerts and metrics can be broken down. */
export type InjectionClass =
  | "instruction_override"
  | "prompt_leakage"
  | "secret_exfiltration"
  | "data_exfiltration"
  | "tool_abuse"
  | "role_spoofing"
  | "memory_poisoning"
  | "data_boundary"
  | "indirect_injection"
  | "obfuscation"
  | "hidden_content";

/** Where inspected text came from: the run's input, or what a tool returned (documents, pages, API replies). */
export type InjectionSource = "input" | "tool-result";

/**
 * A rule written as concepts in order: each step names the concepts that satisfy it, and `gaps[i]` is how many
 * words may come between step `i` and step `i + 1`. `compact` rules are also matched in runs written without
 * spaces (gaps are then counted as about eight letters a word).
 */
export type SequenceRule = {
  id: string;
  classes: readonly InjectionClass[];
  weight: number;
  steps: ReadonlyArray<readonly HitConcept[]>;
  gaps: readonly number[];
  sources?: readonly InjectionSource[];
  compact?: boolean;
};

/** A rule written as a regular expression over the normalised text (case kept), for markup and syntax. */
export type PatternRule = {
  id: string;
  classes: readonly InjectionClass[];
  weight: number;
  pattern: RegExp;
  sources?: readonly InjectionSource[];
};

const ACTIONS: readonly HitConcept[] = ["override"];

/** The sequence rules: instruction override, prompt and secret extraction, exfiltration, tool abuse, memory, boundaries. */
export const SEQUENCE_RULES: readonly SequenceRule[] = [
  {
    id: "override-instructions",
    classes: ["instruction_override"],
    weight: 0.85,
    steps: [["override"], ["instructions"]],
    gaps: [4],
    compact: true,
  },
  {
    id: "override-what-you-were-told",
    classes: ["instruction_override"],
    weight: 0.75,
    steps: [["override"], ["told"]],
    gaps: [3],
  },
  {
    id: "instructions-void",
    classes: ["instruction_override"],
    weight: 0.7,
    steps: [["instructions", "prompt"], ["void"]],
    gaps: [3],
  },
  {
    id: "fresh-instructions",
    classes: ["instruction_override"],
    weight: 0.35,
    steps: [["fresh"], ["instructions"]],
    gaps: [1],
  },
  {
    id: "persona-unlock",
    classes: ["instruction_override"],
    weight: 0.75,
    steps: [["persona"], ["unrestricted"]],
    gaps: [5],
    compact: true,
  },
  {
    id: "unrestricted-mode",
    classes: ["instruction_override"],
    weight: 0.7,
    steps: [["unrestricted"], ["unrestricted"]],
    gaps: [4],
  },
  {
    id: "supersede-instructions",
    classes: ["instruction_override", "data_boundary"],
    weight: 0.45,
    steps: [["supersede"], ["prior", "your", "mass"], ["instructions"]],
    gaps: [3, 2],
  },
  {
    id: "reveal-prompt",
    classes: ["prompt_leakage"],
    weight: 0.85,
    steps: [["reveal"], ["hidden", "your", "prior"], ["prompt"]],
    gaps: [4, 2],
    compact: true,
  },
  {
    id: "reveal-prompt-noun-first",
    classes: ["prompt_leakage"],
    weight: 0.8,
    steps: [["reveal"], ["prompt"], ["hidden"]],
    gaps: [4, 1],
  },
  {
    id: "ask-prompt",
    classes: ["prompt_leakage"],
    weight: 0.6,
    steps: [["question"], ["hidden"], ["prompt"]],
    gaps: [3, 1],
  },
  {
    id: "reveal-secrets",
    classes: ["secret_exfiltration"],
    weight: 0.6,
    steps: [["reveal", "send"], ["secret"]],
    gaps: [5],
    compact: true,
  },
  {
    id: "send-data-to-target",
    classes: ["data_exfiltration"],
    weight: 0.8,
    steps: [["send"], ["data", "secret"], ["target"]],
    gaps: [6, 6],
    compact: true,
  },
  {
    id: "send-to-exfiltration-url",
    classes: ["data_exfiltration"],
    weight: 0.7,
    steps: [["send", "reveal", "access"], ["exfilUrl"]],
    gaps: [5],
  },
  {
    id: "call-sensitive-tool",
    classes: ["tool_abuse"],
    weight: 0.7,
    steps: [["call"], ["sensitiveTool"]],
    gaps: [3],
  },
  {
    id: "approve-tool-calls",
    classes: ["tool_abuse"],
    weight: 0.6,
    steps: [["approve"], ["toolCall"]],
    gaps: [3],
    compact: true,
  },
  {
    id: "mass-destroy",
    classes: ["tool_abuse"],
    weight: 0.6,
    steps: [["destroy"], ["mass"], ["records"]],
    gaps: [2, 3],
  },
  {
    id: "skip-approval",
    classes: ["tool_abuse", "memory_poisoning"],
    weight: 0.45,
    steps: [["approvalBypass"]],
    gaps: [],
  },
  {
    id: "memory-write",
    classes: ["memory_poisoning"],
    weight: 0.55,
    steps: [["memoryVerb"], ["memorySink"]],
    gaps: [4],
  },
  {
    id: "memory-standing-order",
    classes: ["memory_poisoning"],
    weight: 0.5,
    steps: [["memorySink"], ["directive"]],
    gaps: [6],
  },
  {
    id: "memory-future",
    classes: ["memory_poisoning"],
    weight: 0.55,
    steps: [["memoryVerb"], ["future"]],
    gaps: [6],
  },
  {
    id: "standing-order",
    classes: ["memory_poisoning"],
    weight: 0.45,
    steps: [["future"], ["directive"]],
    gaps: [8],
  },
  {
    id: "privilege-claim",
    classes: ["memory_poisoning", "data_boundary"],
    weight: 0.35,
    steps: [["claimant"], ["privilege"]],
    gaps: [2],
  },
  {
    id: "data-as-instructions",
    classes: ["data_boundary"],
    weight: 0.7,
    steps: [["treat"], ["dataRef"], ["authority"]],
    gaps: [5, 4],
  },
  {
    id: "cross-scope-access",
    classes: ["data_boundary"],
    weight: 0.65,
    steps: [["access", "reveal", "send"], ["otherScope"]],
    gaps: [5],
  },
  {
    id: "addressed-to-model-override",
    classes: ["indirect_injection"],
    weight: 0.7,
    steps: [["audience"], ["obligation"], ACTIONS],
    gaps: [3, 3],
    sources: ["tool-result"],
  },
  {
    id: "addressed-to-model-exfiltrate",
    classes: ["indirect_injection", "data_exfiltration"],
    weight: 0.6,
    steps: [["audience"], ["obligation"], ["send"], ["data", "secret", "target"]],
    gaps: [3, 3, 5],
    sources: ["tool-result"],
  },
  {
    id: "addressed-to-model",
    classes: ["indirect_injection"],
    weight: 0.4,
    steps: [["address"], ["audience"]],
    gaps: [3],
    sources: ["tool-result"],
  },
];

/** The pattern rules: role and delimiter spoofing, chat-template tokens, shell commands, sensitive paths, image exfiltration. */
export const PATTERN_RULES: readonly PatternRule[] = [
  {
    id: "role-header",
    classes: ["role_spoofing"],
    weight: 0.5,
    pattern:
      /(?:^|[\s\])>|:;.\-*#])(?:SYSTEM|SYSTEM PROMPT|SYSTEM MESSAGE|DEVELOPER|ADMIN|ADMINISTRATOR|ROOT|OPERATOR)\s*:|^\s*(?:system|developer|admin)(?: message| prompt| note| override)?\s*:/m,
  },
  {
    id: "chat-template-token",
    classes: ["role_spoofing"],
    weight: 0.6,
    pattern:
      /<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id)\|>|\[\/?INST\]|<<\/?SYS>>|<\/?(?:system|sys|instructions?|admin|developer)>|^#{2,}\s*(?:system|instructions?|new instructions)\b/im,
  },
  {
    id: "fake-tool-output",
    classes: ["role_spoofing"],
    weight: 0.3,
    pattern:
      /\[(?:tool[ _-]?(?:output|result|response)|function[ _-]?(?:output|result)|system[ _-]?(?:message|note))\]/i,
  },
  {
    id: "end-of-data-delimiter",
    classes: ["role_spoofing", "data_boundary"],
    weight: 0.45,
    pattern:
      /\b(?:end of (?:user input|document|context|data|tool output|retrieved content)|(?:begin|start) (?:system|admin|developer) (?:prompt|message|instructions|override))\b/i,
  },
  {
    id: "shell-command",
    classes: ["tool_abuse"],
    weight: 0.5,
    pattern:
      /\brm\s+-(?:rf|fr)\s+[~/]|\b(?:curl|wget)\b[^\n|]{0,200}\|\s*(?:ba|z)?sh\b|\bchmod\s+(?:-R\s+)?777\b|;\s*drop\s+table\b|\bdrop\s+(?:table|database)\s+\w/i,
  },
  {
    id: "sensitive-path",
    classes: ["data_boundary"],
    weight: 0.45,
    pattern:
      /\/etc\/(?:passwd|shadow|sudoers)\b|~\/\.ssh\b|\bid_rsa\b|(?:\.\.\/){2,}|\b\.aws\/credentials\b/i,
  },
  {
    id: "markdown-image-exfiltration",
    classes: ["data_exfiltration"],
    weight: 0.6,
    pattern:
      /!\[[^\]]{0,200}\]\(\s*https?:\/\/[^\s)]*\?[^\s)]*(?:secret|canary|token|key|passw|prompt|conversation|history|session|cookie|email|\{|\$\{)/i,
  },
];

/** Weight of the extra finding added when a rule matched text that was obfuscated or encoded. */
export const OBFUSCATION_WEIGHT = 0.25;
/** Weight of the extra finding added when a rule matched text hidden from a human reader. */
export const HIDDEN_WEIGHT = 0.3;
/** Multiplier for a finding quoted inside text that talks about attacks (training, docs, tests). */
export const QUOTED_DISCUSSION_FACTOR = 0.15;
/** Multiplier for a finding inside quotation marks with no such framing. */
export const QUOTED_FACTOR = 0.6;
