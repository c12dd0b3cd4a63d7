/** Why the interpreter was stopped from outside: each ends (or pauses) the run differently. */
export type InterruptKind = "cancel" | "timeout" | "shutdown" | "lease_lost";

/** The abort reason the worker gives a run's signal. */
export class RunInterrupt extends Error {
  readonly kind: InterruptKind;

  constructor(kind: InterruptKind, message: string) {
    super(message);
    this.name = "RunInterrupt";
    this.kind = kind;
  }
}

/** The interrupt behind an aborted signal, if that is what aborted it. */
export function interruptOf(signal: AbortSignal): RunInterrupt | null {
  return signal.aborted && signal.reason instanceof RunInterrupt ? signal.reason : null;
}

/** Shutdown and a lost lease leave the run for another worker; nothing more may be written for it here. */
export function isPause(signal: AbortSignal): boolean {
  const kind = interruptOf(signal)?.kind;
  return kind === "shutdown" || kind === "lease_lost";
}
