import { type CancelRequest, cancelMessage } from "../store/index.ts";

/** Why the interpreter was stopped from outside: each ends (or pauses) the run differently. */
export type InterruptKind = "cancel" | "timeout" | "shutdown" | "lease_lost";

/** The abort reason the worker gives a run's signal. */
export class RunInterrupt extends Error {
  readonly kind: InterruptKind;

  /** A cancel's: who requested it and why, journaled as `run-cancel` before the run ends. */
  readonly request: CancelRequest | undefined;

  constructor(kind: InterruptKind, message: string, request?: CancelRequest) {
    super(message);
    this.name = "RunInterrupt";
    this.kind = kind;
    this.request = request;
  }

  /** The interrupt of a requested cancel: the run ends cancelled, naming who asked. */
  static cancel(request: CancelRequest): RunInterrupt {
    return new RunInterrupt("cancel", cancelMessage(request), request);
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
