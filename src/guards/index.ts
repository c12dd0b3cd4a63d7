/**
 * Guards on what enters and leaves an agent: prompt-injection detection on inputs and tool results, and PII and
 * secret redaction. Pure functions over text; the runtime decides what a finding does to a run.
 */
export * from "./injection/index.ts";
export * from "./redaction/index.ts";
