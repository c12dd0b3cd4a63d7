import { type EntityClass, type PayloadSealer, redactText, redactValue } from "../guards/index.ts";
import type { NewEvent } from "../journal/index.ts";
import type { GuardsSection } from "../spec/index.ts";
import type { SealedArgumentsRow } from "../store/index.ts";

/** What redaction makes of one event: the form to journal, the form the run's state folds, and what to seal. */
export type ProtectedEvent = { stored: NewEvent; folded: NewEvent; sealed: SealedArgumentsRow | null };

/** The redaction settings of one run: the classes masked in the journal and in what leaves, and the sealer. */
export type RedactionPolicy = {
  runId: string;
  journal: ReadonlySet<EntityClass>;
  output: ReadonlySet<EntityClass>;
  /** Absent: originals are not kept; a call whose arguments were masked cannot run after a restart. */
  sealer?: PayloadSealer;
};

/** The policy an agent's `guards` section asks for (the spec's defaults when it has none). */
export function redactionPolicyOf(options: {
  runId: string;
  guards: GuardsSection | undefined;
  sealer?: PayloadSealer | undefined;
}): RedactionPolicy {
  const journal = new Set<EntityClass>(options.guards?.journal.redact ?? ["secrets"]);
  const output = new Set<EntityClass>([...(options.guards?.output.redact ?? ["pii", "secrets"]), ...journal]);
  return { runId: options.runId, journal, output, ...(options.sealer ? { sealer: options.sealer } : {}) };
}

/**
 * Mask an event's payload before it is journaled (ARCHITECTURE.md invariant 5). The content a run carries —
 * model decisions, tool arguments and results, the answer, errors, approval views — is masked with the journal's
 * classes; the answer the user gets with the output's classes as well. Everything else in a payload is ids,
 * hashes and counts and is left as it is. A proposed call's original arguments stay in the run's state (the
 * run must execute exactly them) and are sealed for a resume; its `argumentsHash` is already the original's hash.
 */
export function protectEvent(event: NewEvent, policy: RedactionPolicy): ProtectedEvent {
  const stored = maskEvent(event, policy);
  if (stored === event) return { stored, folded: event, sealed: null };
  if (event.type !== "tool-call-propose") return { stored, folded: stored, sealed: null };
  const sealed = policy.sealer
    ? {
        runId: policy.runId,
        argumentsHash: event.payload.argumentsHash,
        ...policy.sealer.seal(
          JSON.stringify(event.payload.arguments),
          sealContext(policy.runId, event.payload.argumentsHash),
        ),
      }
    : null;
  return { stored, folded: event, sealed };
}

/** What a sealed argument row is bound to: it opens only for this run and hash. */
export function sealContext(runId: string, argumentsHash: string): string {
  return `keel-sealed-arguments:${runId}:${argumentsHash}`;
}

function maskEvent(event: NewEvent, policy: RedactionPolicy): NewEvent {
  const { journal, output } = policy;
  switch (event.type) {
    case "run-start":
      return swap(event, { input: text(event.payload.input, journal) });
    case "model-call-end": {
      const decision = event.payload.decision;
      if (!decision) return swap(event, { error: errorOf(event.payload.error, journal) });
      const masked =
        decision.kind === "answer"
          ? { ...decision, text: text(decision.text, output) }
          : (value(decision, journal) as typeof decision);
      return swap(event, { decision: masked, error: errorOf(event.payload.error, journal) });
    }
    case "tool-call-propose":
      return swap(event, { arguments: value(event.payload.arguments, journal) });
    case "tool-call-end":
      return swap(event, {
        result: event.payload.result === undefined ? undefined : value(event.payload.result, journal),
        error: errorOf(event.payload.error, journal),
      });
    case "run-end":
      return swap(event, {
        answer: event.payload.answer === undefined ? undefined : text(event.payload.answer, output),
        error: errorOf(event.payload.error, journal),
      });
    case "approval-request":
      return swap(event, {
        summary: text(event.payload.summary, journal),
        arguments:
          event.payload.arguments === undefined ? undefined : value(event.payload.arguments, journal),
        context: {
          ...event.payload.context,
          input: text(event.payload.context.input, journal),
          recent: event.payload.context.recent.map((line) => text(line, journal)),
        },
      });
    case "approval-decision":
      return swap(event, {
        comment: event.payload.comment === undefined ? undefined : text(event.payload.comment, journal),
        resolution:
          event.payload.resolution === undefined ? undefined : text(event.payload.resolution, journal),
      });
    case "signal-receive":
      return swap(event, {
        payload: event.payload.payload === undefined ? undefined : value(event.payload.payload, journal),
      });
    default:
      return event;
  }
}

/** The event with the given fields replaced, or the very same event when none changed. */
function swap<E extends NewEvent>(event: E, fields: Record<string, unknown>): E {
  const payload = event.payload as Record<string, unknown>;
  const changed = Object.entries(fields).filter(([key, next]) => next !== payload[key]);
  if (changed.length === 0) return event;
  return { ...event, payload: { ...payload, ...Object.fromEntries(changed) } } as E;
}

function text(input: string, classes: ReadonlySet<EntityClass>): string {
  return redactText(input, classes).text;
}

function value(input: unknown, classes: ReadonlySet<EntityClass>): unknown {
  return redactValue(input, classes).value;
}

function errorOf<T extends { message: string } | undefined>(error: T, classes: ReadonlySet<EntityClass>): T {
  if (error === undefined) return error;
  const message = text(error.message, classes);
  return message === error.message ? error : ({ ...error, message } as T);
}
