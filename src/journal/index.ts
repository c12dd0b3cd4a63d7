// journal/: the run journal's event vocabulary, hashing and chain verification, W3C trace context, and the
// Merkle audit log over journals (leaves, tree, inclusion and consistency proofs, checkpoints, bundles).
export {
  type AuditBundle,
  BUNDLE_FILES,
  BUNDLE_FORMAT,
  type BundleKey,
  type BundleManifest,
  type BundleProofs,
  parseAuditBundle,
} from "./audit/audit-bundle.ts";
export { encodeLeaf } from "./audit/audit-leaf.ts";
export { buildConsistencyProof, buildInclusionProof, type SubtreeHashes } from "./audit/build-proof.ts";
export { BUNDLE_README } from "./audit/bundle-readme.ts";
export { checkVerificationRecords, type VerificationAnchor } from "./audit/check-verification-records.ts";
export {
  auditKeyId,
  CHECKPOINT_FORMAT,
  type Checkpoint,
  parseCheckpoint,
  publicKeyFromRaw,
  rawPublicKey,
  type SignedCheckpoint,
  signCheckpoint,
  verifyCheckpointSignatureWith,
} from "./audit/checkpoint.ts";
export { auditLeafOfRow, hashLeafPage, type StoredLeafRow } from "./audit/hash-leaf-page.ts";
export { verifyInclusion } from "./audit/inclusion-proof.ts";
export { HASH_BYTES, hashChildren, hashLeaf } from "./audit/merkle-hash.ts";
export { type Peak, type PerfectSubtree, TreeFrontier } from "./audit/merkle-tree.ts";
export {
  checkpointsDigests,
  type SignedVerification,
  signVerification,
  VERIFICATION_FORMAT,
  type Verification,
} from "./audit/verification-record.ts";
export { verifyAuditBundle } from "./audit/verify-audit-bundle.ts";
export {
  type AuditProblem,
  type AuditVerdict,
  type VerifyAuditLogOptions,
  verifyAuditLog,
} from "./audit/verify-audit-log.ts";
export {
  type ApprovalKind,
  type ApprovalPriority,
  type CallCost,
  type CarriedMessage,
  type ErrorInfo,
  EVENT_TYPES,
  firstFencedEvent,
  isEvent,
  isEventType,
  JOURNAL_SCHEMA_VERSION,
  type JournalEvent,
  type ModelCallAttempt,
  type ModelCallPhase,
  type ModelDecision,
  type NewEvent,
  type ParentBudget,
  type PayloadOf,
  Principal,
  parseNewEvent,
  RolloutAssignment,
  type RunAnnotationPayload,
  RunAnnotationPayloads,
  type RunAnnotationType,
  RunStatus,
  SessionTurn,
  SignalName,
  STARTS_WORK,
  TERMINAL_STATUSES,
  type ToolCallRequest,
  type Usage,
} from "./events.ts";
export { canonicalJson, GENESIS_HASH, hashCanonicalJson, hashEvent, hashPayload } from "./hash.ts";
export { plainCanonicalJson } from "./plain-canonical-json.ts";
export {
  nodeSpanKey,
  nodeTraceParent,
  parseTraceParent,
  runTrace,
  spanIdOf,
  toolCallTraceParent,
  toolSpanKey,
  traceIdOf,
} from "./trace-context.ts";
export { verifyChain } from "./verify-chain.ts";
