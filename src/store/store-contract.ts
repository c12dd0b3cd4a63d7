import { after, before, describe } from "node:test";
import type { SqlStore } from "./sql-store.ts";
import { approvalsContract } from "./store-contract-approvals.ts";
import { auditContract } from "./store-contract-audit.ts";
import { cancelFenceContract } from "./store-contract-cancel-fence.ts";
import type { StoreContractContext, StoreContractSubject } from "./store-contract-fixtures.ts";
import { journalContract } from "./store-contract-journal.ts";
import { leasesContract } from "./store-contract-leases.ts";
import { racesContract } from "./store-contract-races.ts";
import { runTreeContract } from "./store-contract-run-tree.ts";
import { runsContract } from "./store-contract-runs.ts";
import { sessionsContract } from "./store-contract-sessions.ts";
import { subjectsContract } from "./store-contract-subjects.ts";

export type { StoreContractSubject } from "./store-contract-fixtures.ts";

/**
 * The Store contract (ARCHITECTURE.md §2.6): registers the same tests for any implementation, so PGlite and
 * PostgreSQL are held to one behaviour. Call it from a test file with a way to open that store.
 */
export function storeContract(name: string, subject: StoreContractSubject): void {
  describe(`${name} store`, () => {
    let store: SqlStore | undefined;
    let peer: SqlStore | undefined;
    const opened: SqlStore[] = [];
    const context: StoreContractContext = {
      subject,
      get store() {
        if (!store) throw new Error("the contract's store is not open yet");
        return store;
      },
      get peer() {
        if (!peer) throw new Error("the contract's peer store is not open yet");
        return peer;
      },
      async openEmpty() {
        const fresh = await subject.openEmpty();
        opened.push(fresh);
        return fresh;
      },
      async openPeer(of) {
        const second = await subject.openPeer(of);
        opened.push(second);
        return second;
      },
    };

    before(async () => {
      store = await context.openEmpty();
      await store.migrate();
      peer = await context.openPeer(store);
    });

    after(async () => {
      // Peers first: they share what the first store of their database owns.
      for (const each of opened.reverse()) await each.close();
    });

    runsContract(context);
    journalContract(context);
    leasesContract(context);
    racesContract(context);
    approvalsContract(context);
    auditContract(context);
    runTreeContract(context);
    cancelFenceContract(context);
    sessionsContract(context);
    subjectsContract(context);
  });
}
