import type { Hono } from "hono";
import { API_ROUTES } from "../api/index.ts";
import { KeelError } from "../errors/index.ts";
import {
  auditLeafOfRow,
  buildInclusionProof,
  type Checkpoint,
  encodeLeaf,
  hashLeaf,
  parseCheckpoint,
  rawPublicKey,
} from "../journal/index.ts";
import type { AuditQueries } from "../store/index.ts";
import { registerRoute } from "./register-route.ts";

/**
 * The audit log over HTTP: the latest signed checkpoint with the key that signed it, and the inclusion proof of
 * one event against it, for an auditor who holds the event (docs/security.md, "Audit log"). Both are platform
 * routes (src/api/routes.ts): the log is one tree over every tenant, so its size and a leaf's index tell how many
 * events all tenants have journaled, which no other tenant may learn.
 */
export function registerAuditRoutes(app: Hono, options: { audit: AuditQueries }): void {
  const { audit } = options;
  const latestCheckpoint = async (): Promise<Checkpoint> => {
    const latest = await audit.latestCheckpoint();
    if (!latest) throw new KeelError("not_found", "the audit log has no checkpoint yet");
    return parseCheckpoint(latest);
  };
  const presentCheckpoint = async (checkpoint: Checkpoint) => {
    const key = (await audit.auditKeys()).get(checkpoint.keyId);
    return {
      checkpoint,
      publicKey: key
        ? { keyId: checkpoint.keyId, algorithm: "Ed25519", publicKey: rawPublicKey(key).toString("base64") }
        : null,
    };
  };

  registerRoute(app, API_ROUTES.latestCheckpoint, async (_, context) =>
    context.json(await presentCheckpoint(await latestCheckpoint())),
  );

  registerRoute(app, API_ROUTES.auditProof, async ({ query }, context) => {
    const { runId } = query;
    const seq = Number(query.seq);
    const leafIndex = await audit.leafIndexOf(runId, seq);
    if (leafIndex === null) throw new KeelError("not_found", `run ${runId} has no event ${seq}`);
    // The event is in the log; with no checkpoint yet it is simply not covered yet, as after the latest one.
    const latest = await audit.latestCheckpoint();
    if (!latest) {
      throw new KeelError(
        "conflict",
        `event ${seq} of run ${runId} is leaf ${leafIndex}, and the audit log has no checkpoint yet; ask again after the first one`,
      );
    }
    const checkpoint = parseCheckpoint(latest);
    if (leafIndex >= checkpoint.treeSize) {
      throw new KeelError(
        "conflict",
        `event ${seq} of run ${runId} is leaf ${leafIndex}, after the latest checkpoint (${checkpoint.treeSize} leaves); ask again after the next one`,
      );
    }
    const [row] = await audit.readLeaves(leafIndex, leafIndex + 1);
    const leaf = encodeLeaf(auditLeafOfRow(row!).leaf);
    const path = await buildInclusionProof(leafIndex, checkpoint.treeSize, audit.subtreeHashes());
    return context.json({
      runId,
      seq,
      leafIndex,
      treeSize: checkpoint.treeSize,
      leaf,
      leafHash: hashLeaf(leaf).toString("hex"),
      path: path.map((hash) => hash.toString("hex")),
      ...(await presentCheckpoint(checkpoint)),
    });
  });
}
