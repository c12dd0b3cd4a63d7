/**
 * One piece of a model turn's text as it is written: `turn` is the model call's step, `index` counts the turn's
 * deltas from 0. Deltas are not journaled; the turn's whole text is, in its `model-call-end`.
 */
export type TextDelta = { turn: number; index: number; delta: string };

/** What the model node writes a run's text through while a turn streams. */
export type LiveTextWriter = {
  /** A turn starts streaming (again, from index 0, when a call for the same step is made afresh). */
  begin(turn: number): void;
  delta(turn: number, text: string): void;
  /** The turn's stream is over, finished or failed: nothing of it is replayed to later subscribers. */
  end(turn: number): void;
  /** Whether anyone listens to the run now (an offline stand-in, which answers at once, streams only then). */
  readonly listening: boolean;
};

type RunText = {
  turn: number;
  deltas: string[];
  open: boolean;
  listeners: Set<(delta: TextDelta) => void>;
};

/**
 * The live text of the runs this process interprets, for anyone watching them (the SSE stream). It keeps only the
 * turn being streamed now, so a subscriber that has seen nothing of the run can be given the turn from its start.
 */
export type LiveText = {
  writer(runId: string): LiveTextWriter;
  /**
   * Listen to a run's deltas until the returned function is called. `replay` first hands over the deltas of the
   * turn streaming now (for a subscriber that has seen none of them).
   */
  subscribe(runId: string, listener: (delta: TextDelta) => void, options: { replay: boolean }): () => void;
  /** Runs with a turn streaming or a subscriber (for tests: nothing is left behind). */
  readonly size: number;
};

export function createLiveText(): LiveText {
  const runs = new Map<string, RunText>();
  const entry = (runId: string): RunText => {
    let found = runs.get(runId);
    if (!found) {
      found = { turn: 0, deltas: [], open: false, listeners: new Set() };
      runs.set(runId, found);
    }
    return found;
  };
  const forget = (runId: string, run: RunText) => {
    if (!run.open && run.listeners.size === 0 && runs.get(runId) === run) runs.delete(runId);
  };
  return {
    writer(runId) {
      return {
        begin(turn) {
          const run = entry(runId);
          run.turn = turn;
          run.deltas = [];
          run.open = true;
        },
        delta(turn, text) {
          const run = runs.get(runId);
          if (!run?.open || run.turn !== turn || text.length === 0) return;
          const delta: TextDelta = { turn, index: run.deltas.length, delta: text };
          run.deltas.push(text);
          for (const listener of run.listeners) listener(delta);
        },
        end(turn) {
          const run = runs.get(runId);
          if (!run || run.turn !== turn) return;
          run.open = false;
          run.deltas = [];
          forget(runId, run);
        },
        get listening() {
          return (runs.get(runId)?.listeners.size ?? 0) > 0;
        },
      };
    },
    subscribe(runId, listener, options) {
      const run = entry(runId);
      if (options.replay && run.open) {
        run.deltas.forEach((text, index) => {
          listener({ turn: run.turn, index, delta: text });
        });
      }
      run.listeners.add(listener);
      return () => {
        run.listeners.delete(listener);
        forget(runId, run);
      };
    },
    get size() {
      return runs.size;
    },
  };
}
