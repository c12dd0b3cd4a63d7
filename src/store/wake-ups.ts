/** The channel a run's appends are announced on, in process and through NOTIFY. */
export const EVENTS_CHANNEL = "keel_events";
/** The channel new runnable work is announced on: a created run, a cancel request, a released lease. */
export const WORK_CHANNEL = "keel_work";

/** What a waiter listens for: new events of one run, or new work for any worker. */
export type WakeTopic = { channel: typeof EVENTS_CHANNEL; runId: string } | { channel: typeof WORK_CHANNEL };

/**
 * In-process wake-ups for `waitForEvents` and `waitForWork`. Every wait removes its listener, timer and abort
 * handler when it settles, whichever way it settles, so long-running workers do not accumulate them.
 */
export class WakeUps {
  readonly #listeners = new Map<string, Set<() => void>>();
  #closed = false;

  /** Wake everyone waiting on this channel (and run, for events). */
  notify(channel: string, payload = ""): void {
    for (const listener of [...(this.#listeners.get(keyOf(channel, payload)) ?? [])]) listener();
  }

  /** Wake every waiter: notifications may have been missed (a lost LISTEN connection) or the store is closing. */
  notifyAll(): void {
    for (const listeners of [...this.#listeners.values()]) for (const listener of [...listeners]) listener();
  }

  /** Resolve every current and future wait at once; the store is closing. */
  close(): void {
    this.#closed = true;
    this.notifyAll();
  }

  /** How many waits are pending; a test uses it to prove none leak. */
  get pending(): number {
    let count = 0;
    for (const listeners of this.#listeners.values()) count += listeners.size;
    return count;
  }

  /**
   * Resolve on a wake-up of `topic`, after `timeoutMs`, on abort, or at once when `ready` says the awaited
   * thing already happened. The listener is registered before `ready` runs, so nothing that happens between
   * the caller's last read and this wait is missed.
   */
  async wait(options: {
    topic: WakeTopic;
    timeoutMs: number;
    signal?: AbortSignal | undefined;
    ready?: () => Promise<boolean>;
  }): Promise<void> {
    const { signal } = options;
    if (this.#closed || signal?.aborted) return;
    const key =
      options.topic.channel === EVENTS_CHANNEL ? keyOf(EVENTS_CHANNEL, options.topic.runId) : WORK_CHANNEL;
    let settle = () => {};
    const settled = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const listeners = this.#listeners.get(key) ?? new Set<() => void>();
    this.#listeners.set(key, listeners);
    const finish = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", finish);
      listeners.delete(finish);
      if (listeners.size === 0 && this.#listeners.get(key) === listeners) this.#listeners.delete(key);
      settle();
    };
    listeners.add(finish);
    const timer = setTimeout(finish, Math.max(0, options.timeoutMs));
    signal?.addEventListener("abort", finish, { once: true });
    try {
      if (options.ready && (await options.ready())) finish();
    } catch (error) {
      finish();
      throw error;
    }
    await settled;
  }
}

function keyOf(channel: string, payload: string): string {
  return channel === EVENTS_CHANNEL ? `${channel}:${payload}` : channel;
}
