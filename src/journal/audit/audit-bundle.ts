import { KeelError } from "../../errors/index.ts";
import type { SignedCheckpoint } from "./checkpoint.ts";

/** The format tag of a bundle's manifest. */
export const BUNDLE_FORMAT = "keel-audit-bundle/1";

/** The files of a bundle, by role. `events.jsonl` holds one leaf per line: the leaf's exact bytes. */
export const BUNDLE_FILES = {
  manifest: "manifest.json",
  events: "events.jsonl",
  checkpoints: "checkpoints.json",
  keys: "public-keys.json",
  proofs: "proofs.json",
  readme: "README.md",
} as const;

/** What a bundle holds: the whole log, or one run's events with an inclusion proof each. */
export type BundleManifest = {
  format: typeof BUNDLE_FORMAT;
  logId: string;
  scope: { kind: "log" } | { kind: "run"; runId: string };
  /** The size of the newest checkpoint in the bundle: every exported event is a leaf below it. */
  treeSize: number;
  events: number;
  exportedAt: string;
};

/** A public key as a bundle carries it: Ed25519, 32 raw bytes in base64, and its key id. */
export type BundleKey = { keyId: string; algorithm: "Ed25519"; publicKey: string };

/** Proofs in hex: each event's audit path, and consistency between consecutive checkpoints. */
export type BundleProofs = {
  treeSize: number;
  inclusion: { line: number; leafIndex: number; path: string[] }[];
  consistency: { oldSize: number; newSize: number; proof: string[] }[];
};

/** A bundle read into memory, each file parsed but not yet trusted. */
export type AuditBundle = {
  manifest: BundleManifest;
  /** events.jsonl split into lines, without the trailing newline. */
  events: string[];
  checkpoints: SignedCheckpoint[];
  keys: BundleKey[];
  proofs: BundleProofs;
};

/** Parse the JSON files of a bundle, naming the file and field that is malformed. */
export function parseAuditBundle(files: {
  manifest: string;
  events: string;
  checkpoints: string;
  keys: string;
  proofs: string;
}): AuditBundle {
  const manifest = json(files.manifest, BUNDLE_FILES.manifest) as BundleManifest;
  if (manifest?.format !== BUNDLE_FORMAT)
    throw fileError(BUNDLE_FILES.manifest, "format", `must be "${BUNDLE_FORMAT}"`);
  if (typeof manifest.logId !== "string") throw fileError(BUNDLE_FILES.manifest, "logId", "must be a string");
  if (!Number.isSafeInteger(manifest.treeSize) || manifest.treeSize < 0) {
    throw fileError(BUNDLE_FILES.manifest, "treeSize", "must be a non-negative integer");
  }
  const scope = manifest.scope as { kind?: unknown; runId?: unknown } | undefined;
  if (!(scope?.kind === "log" || (scope?.kind === "run" && typeof scope.runId === "string"))) {
    throw fileError(BUNDLE_FILES.manifest, "scope", 'must be {"kind":"log"} or {"kind":"run","runId":…}');
  }
  const checkpoints = json(files.checkpoints, BUNDLE_FILES.checkpoints);
  if (!Array.isArray(checkpoints)) throw fileError(BUNDLE_FILES.checkpoints, "(root)", "must be an array");
  checkpoints.forEach((checkpoint: { body?: unknown; signature?: unknown }, index) => {
    if (typeof checkpoint?.body !== "string" || typeof checkpoint.signature !== "string") {
      throw fileError(BUNDLE_FILES.checkpoints, `[${index}]`, "must have string body and signature");
    }
  });
  const keys = json(files.keys, BUNDLE_FILES.keys);
  if (!Array.isArray(keys)) throw fileError(BUNDLE_FILES.keys, "(root)", "must be an array");
  keys.forEach((key: Partial<BundleKey>, index) => {
    if (key?.algorithm !== "Ed25519" || typeof key.publicKey !== "string" || typeof key.keyId !== "string") {
      throw fileError(BUNDLE_FILES.keys, `[${index}]`, "must be {keyId, algorithm: Ed25519, publicKey}");
    }
  });
  const proofs = json(files.proofs, BUNDLE_FILES.proofs) as BundleProofs;
  if (!Array.isArray(proofs?.inclusion) || !Array.isArray(proofs.consistency)) {
    throw fileError(BUNDLE_FILES.proofs, "inclusion", "and consistency must be arrays");
  }
  const events = files.events.length === 0 ? [] : files.events.replace(/\n$/, "").split("\n");
  return {
    manifest,
    events,
    checkpoints: checkpoints as SignedCheckpoint[],
    keys: keys as BundleKey[],
    proofs,
  };
}

function json(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new KeelError("invalid_request", `${file} is not JSON`);
  }
}

function fileError(file: string, field: string, message: string): KeelError {
  return new KeelError("invalid_request", `${file}: ${field} ${message}`, {
    issues: [{ path: field, message, file }],
  });
}
