import { type PayloadSealer, redactValue } from "../guards/index.ts";
import type { SealedArgumentsStore } from "../store/index.ts";
import type { AgentDefinition } from "./agent-definition.ts";
import { redactionPolicyOf, sealContext } from "./protect-events.ts";

/** What an approver's edit is: the run, the agent, the new arguments and their hash. */
export type ArgumentEdit = {
  runId: string;
  agent: { name: string; version: string };
  arguments: unknown;
  argumentsHash: string;
};

/**
 * The approvals inbox's counterpart of the runtime's redaction: arguments an approver writes are masked with the
 * agent's journal classes before they are journaled, and their original is sealed first (bound to the run and
 * the hash), so the resumed run executes exactly the edit while no table holds its secrets in clear. Without a
 * sealer the masked edit is journaled alone and, as in the runtime, refused at execution on its hash.
 */
export function sealEditedArguments(options: {
  lookup: (name: string, version: string) => AgentDefinition | undefined;
  sealing?: { sealer: PayloadSealer; store: SealedArgumentsStore } | undefined;
}): (edit: ArgumentEdit) => Promise<unknown> {
  return async (edit) => {
    const guards = options.lookup(edit.agent.name, edit.agent.version)?.guards;
    const policy = redactionPolicyOf({ runId: edit.runId, guards });
    const masked = redactValue(edit.arguments, policy.journal);
    if (masked.findings.length === 0) return edit.arguments;
    const sealing = options.sealing;
    if (sealing) {
      const sealed = sealing.sealer.seal(
        JSON.stringify(edit.arguments),
        sealContext(edit.runId, edit.argumentsHash),
      );
      await sealing.store.put([{ runId: edit.runId, argumentsHash: edit.argumentsHash, ...sealed }]);
    }
    return masked.value;
  };
}
