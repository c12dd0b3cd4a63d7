import { useState } from "preact/hooks";
import { type Answer, ApiError, api, query } from "../api.ts";
import { JsonBlock } from "../components.tsx";

type Proof =
  | { state: "idle" | "loading" }
  | { state: "shown"; proof: Answer<"auditProof"> }
  | { state: "failed"; error: ApiError };

/**
 * A button that fetches one journal event's inclusion proof in the signed audit log and shows it, saying plainly
 * why there is none: no checkpoint covers the event yet (409), or the key is not the platform's (403: the log
 * spans every tenant, so its proofs are the platform's to give).
 */
export function AuditProof(props: { runId: string; seq: number }) {
  const [proof, setProof] = useState<Proof>({ state: "idle" });
  const load = async () => {
    setProof({ state: "loading" });
    try {
      const answer = await api<"auditProof">(
        `/v1/audit/proof${query({ runId: props.runId, seq: props.seq })}`,
      );
      setProof({ state: "shown", proof: answer });
    } catch (error) {
      setProof({
        state: "failed",
        error: error instanceof ApiError ? error : new ApiError(0, "internal", String(error)),
      });
    }
  };
  if (proof.state === "shown") {
    return (
      <div class="audit-proof">
        <p class="hint">
          Leaf {proof.proof.leafIndex} of {proof.proof.treeSize}, signed by key{" "}
          <code>{proof.proof.checkpoint.keyId}</code>.
        </p>
        <JsonBlock value={proof.proof} label={`Audit inclusion proof of event ${props.seq}`} />
      </div>
    );
  }
  return (
    <div class="audit-proof">
      <button
        type="button"
        class="link-button"
        onClick={load}
        disabled={proof.state === "loading"}
        aria-label={`Audit proof of event ${props.seq}`}
      >
        {proof.state === "loading" ? "Fetching proof…" : "Audit proof"}
      </button>
      {proof.state === "failed" ? (
        <p class="proof-note" role="status">
          {proofFailure(proof.error)}
        </p>
      ) : null}
    </div>
  );
}

function proofFailure(error: ApiError): string {
  switch (error.status) {
    case 409:
      return "No checkpoint covers this event yet: the audit log signs one after a number of events or a while; try again later.";
    case 403:
      return "Only keys of the platform tenant may read audit proofs: the audit log spans every tenant.";
    case 404:
      return `Not found: ${error.message}`;
    default:
      return `The proof could not be read: ${error.message}`;
  }
}
