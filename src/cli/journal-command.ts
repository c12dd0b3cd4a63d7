import { verifyChain } from "../journal/index.ts";
import type { ApiClient } from "./api-client.ts";
import type { CliIo } from "./cli-io.ts";

/**
 * `keel journal verify <run…>`: fetch each run's events and recompute every payload hash and link here, so the
 * check does not trust the server's own word. Exits 1 when any chain is broken.
 */
export async function journalVerifyCommand(options: {
  client: ApiClient;
  io: CliIo;
  runIds: readonly string[];
}): Promise<number> {
  let broken = 0;
  for (const runId of options.runIds) {
    const { events } = await options.client.call("runJournal", { params: { id: runId } });
    const verdict = verifyChain(events);
    if (verdict.ok) {
      options.io.out(`✔ ${runId}: ${verdict.events} events, chain intact, head ${verdict.head}`);
    } else {
      options.io.err(`✖ ${runId}: chain broken at seq ${verdict.seq}: ${verdict.problem}`);
      broken += 1;
    }
  }
  return broken === 0 ? 0 : 1;
}
