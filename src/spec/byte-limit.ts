import { z } from "zod";

/**
 * A connector's cap on what one call may bring back, in bytes: at least 1 KiB, at most 64 MiB, 1 MiB unless the
 * spec says otherwise. `what` says what is counted and what happens past it.
 */
export function byteLimit(what: string) {
  return z
    .number()
    .int()
    .min(1_024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024)
    .describe(what);
}
