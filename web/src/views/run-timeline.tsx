import { useState } from "preact/hooks";
import { formatDuration, formatTime } from "../format.ts";
import { AuditProof } from "./audit-proof.tsx";
import { describeEvent, type RunEvent } from "./run-events.tsx";
import type { Writing } from "./use-run-events.ts";

/**
 * A run's journal as a timeline: each event's time (and how long after the run started), its type in words and
 * what it meant, with a link to its audit proof; the text a model turn is writing shows at the end until the turn
 * is journaled. Bookkeeping events (a step or call starting, budget reservations) are folded away unless asked for.
 */
export function RunTimeline(props: {
  runId: string;
  events: readonly RunEvent[];
  writing: Writing | null;
  proofs: boolean;
  labelledBy: string;
}) {
  const [everything, setEverything] = useState(false);
  const startedAt = props.events[0] ? Date.parse(props.events[0].at) : 0;
  const described = props.events.map((event) => ({ event, meaning: describeEvent(event) }));
  const shown = everything ? described : described.filter(({ meaning }) => !meaning.bookkeeping);
  const folded = described.length - shown.length;
  return (
    <>
      <div class="timeline-options">
        <input
          type="checkbox"
          id="timeline-everything"
          checked={everything}
          onChange={(event) => setEverything(event.currentTarget.checked)}
        />
        <label for="timeline-everything">
          Show bookkeeping events{folded > 0 ? ` (${folded} folded)` : ""}
        </label>
      </div>
      <ol class="timeline" aria-labelledby={props.labelledBy}>
        {shown.map(({ event, meaning }) => (
          <li key={event.seq} class={`timeline-event event-${event.type}`}>
            <div class="event-head">
              <span class="event-seq">#{event.seq}</span>
              <time dateTime={event.at}>{formatTime(event.at)}</time>
              <span class="event-offset">+{formatDuration(Date.parse(event.at) - startedAt)}</span>
              <strong class="event-title">{meaning.title}</strong>
              <code class="event-type">{event.type}</code>
            </div>
            {meaning.detail ? <div class="event-detail">{meaning.detail}</div> : null}
            {props.proofs ? <AuditProof runId={props.runId} seq={event.seq} /> : null}
          </li>
        ))}
        {props.writing ? (
          <li class="timeline-event event-writing" aria-busy="true">
            <div class="event-head">
              <strong class="event-title">The model is writing (step {props.writing.turn})…</strong>
            </div>
            <p class="model-text live-text">{props.writing.text}</p>
          </li>
        ) : null}
      </ol>
    </>
  );
}
