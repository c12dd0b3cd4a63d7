import type { Store } from "../store/index.ts";
import { isStoreUnavailable } from "../store/index.ts";

/** How long `/readyz` waits for the store before calling the process not ready. */
export const READINESS_TIMEOUT_MS = 2_000;

/** Whether this process can do its work now, and if not, why, in words safe to show anyone. */
export type Readiness = { ready: true } | { ready: false; reason: string };

/**
 * Readiness, as opposed to liveness: can the store answer a trivial query within `timeoutMs`? A load balancer
 * stops sending requests while it cannot, and sends them again once it can, with no restart. The reason names
 * the kind of failure only: `/readyz` is public, so no host, port or driver message is shown.
 */
export async function checkReadiness(options: { store: Store; timeoutMs?: number }): Promise<Readiness> {
  const timeoutMs = options.timeoutMs ?? READINESS_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  try {
    const outcome = await Promise.race([
      options.store.sql.query("SELECT 1").then(() => "ok" as const),
      timedOut,
    ]);
    if (outcome === "timeout")
      return { ready: false, reason: `the store did not answer within ${timeoutMs} ms` };
    return { ready: true };
  } catch (error) {
    return {
      ready: false,
      reason: isStoreUnavailable(error) ? "the store is unreachable" : "the store check failed",
    };
  } finally {
    clearTimeout(timer);
  }
}
