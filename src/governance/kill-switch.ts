import type { GovernanceStore, KillRecord, KillScope } from "./governance-store.ts";
import type { InFlightAction } from "./governor.ts";

type Tracked = { agent: string; tenant: string; ancestors: readonly string[]; controller: AbortController };

/** What a kill or a resume names. */
export type KillTarget = { scope: KillScope; target: string };

/**
 * Kill switches per agent, per tenant, or for everything, checked by the governor before any policy. A kill takes
 * effect in this process before `kill` resolves: the switch is set in memory and every tracked in-flight action
 * it covers is aborted, synchronously, and only then is it persisted and acknowledged — so no action starts here
 * after the acknowledgement. Other processes learn of it on their next refresh from the store.
 */
export class KillSwitch {
  private readonly store: GovernanceStore;
  private readonly now: () => number;
  private active = new Map<string, KillRecord>();
  private readonly inFlight = new Set<Tracked>();
  private lastRefresh: number;

  constructor(options: { store: GovernanceStore; now?: () => number }) {
    this.store = options.store;
    this.now = options.now ?? Date.now;
    this.lastRefresh = this.now();
  }

  /**
   * The kill covering an agent of a tenant, or null; for a child run, a kill of an agent of a run above it
   * (`ancestors`) covers it too. Synchronous: memory only.
   */
  check(agent: string, tenant: string, ancestors: readonly string[] = []): KillRecord | null {
    if (this.active.size === 0) return null;
    const own =
      this.active.get(key("all", "*")) ??
      this.active.get(key("tenant", tenant)) ??
      this.active.get(key("agent", agent));
    if (own) return own;
    for (const ancestor of ancestors) {
      const killed = this.active.get(key("agent", ancestor));
      if (killed) return killed;
    }
    return null;
  }

  /** Milliseconds since the kill switches were last read from the store (or set here). */
  staleness(): number {
    return this.now() - this.lastRefresh;
  }

  /** Throw a kill switch: in effect here at once, in-flight actions aborted, then persisted and acknowledged. */
  async kill(options: KillTarget & { reason: string; killedBy: string }): Promise<KillRecord> {
    const record: KillRecord = {
      scope: options.scope,
      target: options.scope === "all" ? "*" : options.target,
      reason: options.reason,
      killedBy: options.killedBy,
      killedAt: new Date(this.now()).toISOString(),
    };
    this.apply(record);
    await this.store.putKill(record);
    return record;
  }

  /** Lift a kill switch; true when there was one. */
  async resume(target: KillTarget): Promise<boolean> {
    const scopeTarget = target.scope === "all" ? "*" : target.target;
    const removed = await this.store.removeKill(target.scope, scopeTarget);
    const had = this.active.delete(key(target.scope, scopeTarget));
    return removed || had;
  }

  /** The kill switches in effect. */
  list(): KillRecord[] {
    return [...this.active.values()];
  }

  /** Re-read the switches from the store (other processes' kills and resumes). Throws when the store is down. */
  async refresh(): Promise<void> {
    const records = await this.store.listKills();
    const next = new Map(records.map((record) => [key(record.scope, record.target), record]));
    this.active = next;
    this.lastRefresh = this.now();
    for (const record of records) this.abortCovered(record);
  }

  /** Track an allowed action while it runs, so a kill covering it aborts it. */
  track(agent: string, tenant: string, ancestors: readonly string[] = []): InFlightAction {
    const controller = new AbortController();
    const tracked: Tracked = { agent, tenant, ancestors, controller };
    const killed = this.check(agent, tenant, ancestors);
    if (killed) controller.abort(killedError(killed));
    else this.inFlight.add(tracked);
    return {
      signal: controller.signal,
      end: () => {
        this.inFlight.delete(tracked);
      },
    };
  }

  /** Actions tracked now, for tests and metrics. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  private apply(record: KillRecord): void {
    this.active.set(key(record.scope, record.target), record);
    this.abortCovered(record);
  }

  private abortCovered(record: KillRecord): void {
    for (const tracked of this.inFlight) {
      if (covers(record, tracked)) {
        tracked.controller.abort(killedError(record));
        this.inFlight.delete(tracked);
      }
    }
  }
}

function key(scope: KillScope, target: string): string {
  return `${scope}\u0000${target}`;
}

function covers(record: KillRecord, { agent, tenant, ancestors }: Tracked): boolean {
  switch (record.scope) {
    case "all":
      return true;
    case "tenant":
      return record.target === tenant;
    case "agent":
      return record.target === agent || ancestors.includes(record.target);
    default: {
      const unreachable: never = record.scope;
      throw new Error(`unknown kill scope ${String(unreachable)}`);
    }
  }
}

/** The abort reason an in-flight action receives. */
export class KilledError extends Error {
  readonly record: KillRecord;
  constructor(record: KillRecord) {
    super(describeKill(record));
    this.name = "KilledError";
    this.record = record;
  }
}

function killedError(record: KillRecord): KilledError {
  return new KilledError(record);
}

/** "the kill switch for agent support-triage was thrown by ops@example.com: runaway refunds". */
export function describeKill(record: KillRecord): string {
  const what = record.scope === "all" ? "everything" : `${record.scope} ${record.target}`;
  return `the kill switch for ${what} was thrown by ${record.killedBy}: ${record.reason}`;
}
