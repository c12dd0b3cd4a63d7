import type { JournalEvent } from "../journal/events.ts";
import { verifyChain } from "../journal/verify-chain.ts";
import type { ApiClient } from "./api-client.ts";
import type { CliIo } from "./cli-io.ts";

/**
 * `keel journal verify <run>`: fetch a run's events and recompute every payload hash and link here, so the
 * check does not trust the server's own word. Exits 1 at the first break.
 */
export async function journalVerifyCommand(options: {
  client: ApiClient;
  io: CliIo;
  runId: string;
}): Promise<number> {
  const { events } = await options.client.request<{ events: JournalEvent[] }>(
    "GET",
    `/v1/runs/${encodeURIComponent(options.runId)}/journal`,
  );
  const verdict = verifyChain(events);
  if (verdict.ok) {
    options.io.out(`✔ ${options.runId}: ${verdict.events} events, chain intact, head ${verdict.head}`);
    return 0;
  }
  options.io.err(`✖ ${options.runId}: chain broken at seq ${verdict.seq}: ${verdict.problem}`);
  return 1;
}
