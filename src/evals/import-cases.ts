import { readFile, writeFile } from "node:fs/promises";
import { extname } from "node:path";
import { parseDocument } from "yaml";
import { KeelError } from "../errors/index.ts";
import type { Store } from "../store/index.ts";
import { outcomeFromEvents } from "./case-outcome.ts";
import { EvalCase, type EvalCaseInput } from "./eval-case.ts";
import type { EvaluationEvent } from "./evaluation-log.ts";

const REDACTIONS: readonly [RegExp, string][] = [
  [/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g, "[email]"],
  [/\b(?:sk|pk|rk|xox[abp])[-_][A-Za-z0-9_-]{12,}\b/g, "[secret]"],
  [/\b(?:\d[ -]?){13,19}\b/g, "[card-number]"],
  [/\+?\d{1,3}[ .-]?\(?\d{2,4}\)?[ .-]?\d{3,4}[ .-]?\d{3,4}\b/g, "[phone]"],
  [/\b[A-Fa-f0-9]{32,}\b/g, "[token]"],
];

/** Remove what must not land in a dataset kept in a repository: emails, secrets, card and phone numbers, tokens. */
export function redactText(text: string): string {
  return REDACTIONS.reduce((current, [pattern, replacement]) => current.replace(pattern, replacement), text);
}

/**
 * A case from a production run, redacted: its input, and as expectations what the run did (its end state, the
 * tools it called, how it was governed). A run that was held for a person becomes a case that expects the
 * hold — an eval has nobody to approve it, so the next version is held to asking again, up to the held call —
 * and the person's resolution (approved, rejected, resolved, expired) is kept as a tag and a note.
 */
export async function caseFromRun(options: { store: Store; runId: string; id?: string }): Promise<EvalCase> {
  const events = await options.store.readEvents({ runId: options.runId });
  if (events.length === 0) throw new KeelError("not_found", `run ${options.runId} does not exist`);
  const outcome = outcomeFromEvents(events);
  const first = events[0];
  const input = first?.type === "run-start" ? first.payload.input : "";
  const held = outcome.toolCalls.findIndex((call) => call.decision === "review");
  const denied = outcome.toolCalls.some((call) => call.decision === "deny");
  const resolution = outcome.approvals.at(-1);
  const id = options.id ?? `run-${options.runId}`;
  if (held >= 0) {
    const called = [...new Set(outcome.toolCalls.slice(0, held + 1).map((call) => call.tool))];
    const heldTool = outcome.toolCalls[held]!.tool;
    return EvalCase.parse({
      id,
      input: redactText(input),
      category: "escalation",
      tags: ["imported", ...(resolution ? [`human-${resolution}`] : [])],
      ...(resolution
        ? {
            notes: `In production a person ${resolution === "expired" ? "let it expire" : resolution} the held ${heldTool} call.`,
          }
        : {}),
      expect: { status: "suspended", tools: { called }, governance: { [heldTool]: "escalated" } },
      source: { kind: resolution ? "escalation" : "production-run", ref: options.runId },
    } satisfies EvalCaseInput);
  }
  const called = [...new Set(outcome.toolCalls.map((call) => call.tool))];
  const candidate: EvalCaseInput = {
    id,
    input: redactText(input),
    category: "production",
    tags: ["imported"],
    expect: {
      ...(outcome.status === "completed" ? { status: "completed" as const } : {}),
      ...(called.length > 0 ? { tools: { called } } : { tools: { none: true } }),
      governance: denied ? "denied" : "allowed",
      ...(outcome.answer ? { reference: redactText(outcome.answer) } : {}),
    },
    source: { kind: "production-run", ref: options.runId },
  };
  return EvalCase.parse(candidate);
}

/**
 * A case from a person's feedback on a run. A thumbs-up keeps what the run did as the expectation; a
 * thumbs-down needs the answer that should have been given (`expected`), which becomes the reference and, as
 * text the answer must contain, a deterministic check.
 */
export async function caseFromFeedback(options: {
  store: Store;
  feedback: EvaluationEvent<"feedback">;
  expected?: string;
}): Promise<EvalCase> {
  const { feedback } = options;
  const fromRun = await caseFromRun({
    store: options.store,
    runId: feedback.runId,
    id: `feedback-${feedback.eventId}`,
  });
  const notes = feedback.payload.comment ? redactText(feedback.payload.comment) : undefined;
  if (feedback.payload.rating === "up") {
    return EvalCase.parse({
      ...fromRun,
      category: "feedback",
      tags: ["feedback", "up"],
      ...(notes ? { notes } : {}),
      source: { kind: "feedback", ref: String(feedback.eventId) },
    });
  }
  if (!options.expected)
    throw new KeelError(
      "invalid_request",
      "a thumbs-down becomes a case only with the answer that was expected (--expected)",
    );
  return EvalCase.parse({
    id: fromRun.id,
    input: fromRun.input,
    category: "feedback",
    tags: ["feedback", "down"],
    ...(notes ? { notes } : {}),
    expect: { output: { contains: options.expected }, reference: options.expected },
    source: { kind: "feedback", ref: String(feedback.eventId) },
  });
}

/** Append a case to a dataset file (YAML keeps its comments; JSONL gets one more line); a repeated id is refused. */
export async function appendCase(file: string, evalCase: EvalCase): Promise<void> {
  const text = await readFile(file, "utf8").catch(() => null);
  if (extname(file) === ".jsonl") {
    if (
      text
        ?.split("\n")
        .some((line) => line.trim() !== "" && (JSON.parse(line) as { id?: string }).id === evalCase.id)
    )
      throw new KeelError("conflict", `${file} already has a case "${evalCase.id}"`);
    const prefix = text === null || text === "" || text.endsWith("\n") ? (text ?? "") : `${text}\n`;
    await writeFile(file, `${prefix}${JSON.stringify(evalCase)}\n`);
    return;
  }
  const document = parseDocument(text ?? `dataset: ${evalCase.category}\ncases: []\n`);
  const cases = document.get("cases") as { toJSON(): { id: string }[] } | undefined;
  if (cases?.toJSON().some((existing) => existing.id === evalCase.id))
    throw new KeelError("conflict", `${file} already has a case "${evalCase.id}"`);
  document.addIn(["cases"], document.createNode(evalCase));
  await writeFile(file, document.toString());
}
