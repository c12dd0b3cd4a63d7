import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { describe, test } from "node:test";
import {
  type SyntheticAuditLog,
  sealRow,
  seededRandom,
  syntheticAuditLog,
  syntheticBundle,
} from "../../../test/support/synthetic-audit-log.ts";
import { GENESIS_HASH } from "../hash.ts";
import type { AuditBundle } from "./audit-bundle.ts";
import { encodeLeaf } from "./audit-leaf.ts";
import {
  auditKeyId,
  CHECKPOINT_FORMAT,
  type CheckpointBody,
  rawPublicKey,
  type SignedCheckpoint,
  signCheckpoint,
} from "./checkpoint.ts";
import { fastCanonicalJson } from "./fast-canonical-json.ts";
import { auditLeafOfRow, type StoredLeafRow } from "./hash-leaf-page.ts";
import { hashLeaf } from "./merkle-hash.ts";
import { merkleRoot } from "./merkle-tree.ts";
import { verifyAuditBundle } from "./verify-audit-bundle.ts";
import { type AuditVerdict, verifyAuditLog } from "./verify-audit-log.ts";

// Randomized tampering trials (docs/security.md, "Audit log"): each trial applies one tampering to a copy of a
// signed log or bundle, as someone with write access to the database or the bundle could, and the verifier
// must notice. The attacker knows every algorithm and recomputes whatever hashes a forgery needs; only the
// operator's private key is out of reach, and the auditor pins the operator's public key.
const LOG_TRIALS = 8_000;
const BUNDLE_TRIALS = 2_400;
const SEED = Number(process.env.KEEL_TRIALS_SEED ?? 20_261_121);

type LogCopy = Omit<SyntheticAuditLog, "key">;
type Random = (limit: number) => number;
const attacker = generateKeyPairSync("ed25519");

function copyLog(log: SyntheticAuditLog): LogCopy {
  return {
    logId: log.logId,
    rows: log.rows.map((row) => ({ ...row })),
    checkpoints: log.checkpoints.map((checkpoint) => ({ ...checkpoint })),
    runHeads: new Map([...log.runHeads].map(([runId, head]) => [runId, { ...head }])),
    size: log.size,
  };
}

/** Change one value somewhere inside a JSON value, so the result differs. */
function alterJson(value: unknown, random: Random): unknown {
  if (typeof value === "string") return `${value}${"x✓ "[random(3)]}`;
  if (typeof value === "number") return value + 1 + random(5);
  if (typeof value === "boolean") return !value;
  if (Array.isArray(value)) {
    if (value.length === 0) return [0];
    const index = random(value.length);
    return value.map((item, i) => (i === index ? alterJson(item, random) : item));
  }
  if (value && typeof value === "object") {
    const keys = Object.keys(value);
    if (keys.length === 0 || random(8) === 0) return { ...value, [`extra${random(9)}`]: random(3) };
    const key = keys[random(keys.length)]!;
    return { ...value, [key]: alterJson((value as Record<string, unknown>)[key], random) };
  }
  return 1;
}

function flipHex(text: string, random: Random): string {
  const at = random(text.length);
  const digit = text[at] === "0" ? "1" : "0";
  return `${text.slice(0, at)}${digit}${text.slice(at + 1)}`;
}

function flipBase64(text: string, random: Random): string {
  const at = random(Math.max(1, text.length - 4));
  return `${text.slice(0, at)}${text[at] === "A" ? "B" : "A"}${text.slice(at + 1)}`;
}

/** Re-link every later event of a run after one of its events changed, and its head, as a careful forger would. */
function rechain(copy: LogCopy, from: number): void {
  const runId = copy.rows[from]!.runId;
  let prev = from === 0 ? GENESIS_HASH : copy.rows[from]!.prevHash;
  for (let index = from; index < copy.rows.length; index++) {
    const row = copy.rows[index]!;
    if (row.runId !== runId) continue;
    copy.rows[index] = sealRow(row, prev);
    prev = copy.rows[index]!.hash;
    copy.runHeads.set(runId, { lastSeq: copy.rows[index]!.seq, lastHash: prev });
  }
}

/** Renumber leaves after a deletion or move, lower the counter and fix every run head, hiding the obvious. */
function tidy(copy: LogCopy): void {
  copy.rows = copy.rows.map((row, index) => ({ ...row, leafIndex: index }));
  copy.size = copy.rows.length;
  copy.runHeads = new Map();
  for (const row of copy.rows) copy.runHeads.set(row.runId, { lastSeq: row.seq, lastHash: row.hash });
}

function editBody(
  checkpoint: SignedCheckpoint,
  change: (body: Record<string, unknown>) => void,
): SignedCheckpoint {
  const body = JSON.parse(checkpoint.body) as Record<string, unknown>;
  change(body);
  return { body: fastCanonicalJson(body), signature: checkpoint.signature };
}

function resign(
  checkpoint: SignedCheckpoint,
  rows: readonly StoredLeafRow[],
  privateKey: KeyObject,
  keyId: string,
): SignedCheckpoint {
  const body = JSON.parse(checkpoint.body) as { treeSize: number; logId: string; timestamp: string };
  const hashes = rows.slice(0, body.treeSize).map((row) => hashLeaf(encodeLeaf(auditLeafOfRow(row).leaf)));
  const signed = signCheckpoint(
    {
      format: CHECKPOINT_FORMAT,
      logId: body.logId,
      treeSize: body.treeSize,
      rootHash: merkleRoot(hashes).toString("hex"),
      timestamp: body.timestamp,
      keyId,
    },
    privateKey,
  );
  return { body: signed.body, signature: signed.signature };
}

/** One way to tamper with a log: changes `copy` (within the signed part) and names what it did. */
type LogTampering = (copy: LogCopy, signed: number, random: Random) => string;

const LOG_TAMPERINGS: Record<string, LogTampering> = {
  "edit a payload value": (copy, signed, random) => {
    const index = random(signed);
    const row = copy.rows[index]!;
    row.payloadJson = JSON.stringify(alterJson(JSON.parse(row.payloadJson), random));
    return `leaf ${index}`;
  },
  "edit a stored field": (copy, signed, random) => {
    const index = random(signed);
    const row = copy.rows[index]!;
    const fields = [
      "runId",
      "type",
      "at",
      "payloadHash",
      "prevHash",
      "hash",
      "schemaVersion",
      "leaseToken",
      "seq",
    ] as const;
    const field = fields[random(fields.length)]!;
    switch (field) {
      case "runId":
      case "type":
        row[field] = `${row[field]}-x`;
        break;
      case "at":
        row.at = row.at.replace(/\.(\d{3})Z$/, (_, ms: string) => `.${ms}00${1 + random(9)}Z`);
        if (random(2) === 0) row.at = new Date(Date.parse(row.at.replace(/\d{3}Z$/, "Z")) + 1).toISOString();
        break;
      case "payloadHash":
      case "prevHash":
      case "hash":
        row[field] = flipHex(row[field], random);
        break;
      case "schemaVersion":
      case "leaseToken":
      case "seq":
        row[field] = row[field] + 1 + random(3);
        break;
    }
    return `${field} of leaf ${index}`;
  },
  "edit a signed event and re-link its run": (copy, signed, random) => {
    const index = random(signed);
    const row = copy.rows[index]!;
    row.payloadJson = JSON.stringify(alterJson(JSON.parse(row.payloadJson), random));
    rechain(copy, index);
    return `leaf ${index}`;
  },
  "delete an event": (copy, signed, random) => {
    const index = random(signed);
    copy.rows.splice(index, 1);
    if (random(2) === 0) tidy(copy);
    return `leaf ${index}`;
  },
  "delete a whole run's events and renumber": (copy, signed, random) => {
    const runId = copy.rows[random(signed)]!.runId;
    copy.rows = copy.rows.filter((row) => row.runId !== runId);
    tidy(copy);
    copy.runHeads.delete(runId);
    return runId;
  },
  "swap two events": (copy, signed, random) => {
    const a = random(signed);
    let b = random(copy.rows.length);
    if (b === a) b = (a + 1) % copy.rows.length;
    [copy.rows[a], copy.rows[b]] = [copy.rows[b]!, copy.rows[a]!];
    if (random(2) === 0) tidy(copy);
    return `leaves ${a} and ${b}`;
  },
  "move two runs' events past each other, keeping each run's order": (copy, signed, random) => {
    // Swap two neighbouring events of different runs: every chain still links, only the log order changed.
    let index = random(signed);
    while (index + 1 < copy.rows.length && copy.rows[index]!.runId === copy.rows[index + 1]!.runId) index++;
    if (index + 1 >= copy.rows.length)
      index = copy.rows.findIndex((row, i) => copy.rows[i + 1] && row.runId !== copy.rows[i + 1]!.runId);
    [copy.rows[index], copy.rows[index + 1]] = [copy.rows[index + 1]!, copy.rows[index]!];
    tidy(copy);
    return `leaves ${index} and ${index + 1}`;
  },
  "truncate the tail": (copy, signed, random) => {
    const keep = random(signed);
    copy.rows = copy.rows.slice(0, keep);
    tidy(copy);
    return `keeping ${keep}`;
  },
  "insert a copy of an event": (copy, signed, random) => {
    const index = random(signed);
    copy.rows.splice(index, 0, { ...copy.rows[index]! });
    if (random(2) === 0) tidy(copy);
    return `at ${index}`;
  },
  "insert a forged event at the end of a run": (copy, signed, random) => {
    const target = copy.rows[random(signed)]!;
    const head = copy.runHeads.get(target.runId)!;
    const index = random(signed);
    const forged = sealRow(
      { ...target, seq: head.lastSeq + 1, payloadJson: '{"forged":true}', leafIndex: index },
      head.lastHash,
    );
    copy.rows.splice(index, 0, forged);
    tidy(copy);
    return `at ${index}`;
  },
  "alter a checkpoint's root, size, time or log id": (copy, _signed, random) => {
    const at = random(copy.checkpoints.length);
    const field = ["rootHash", "treeSize", "timestamp", "logId"][random(4)]!;
    copy.checkpoints[at] = editBody(copy.checkpoints[at]!, (body) => {
      if (field === "rootHash") body.rootHash = flipHex(body.rootHash as string, random);
      if (field === "treeSize") body.treeSize = (body.treeSize as number) + 1 + random(3);
      if (field === "timestamp")
        body.timestamp = new Date(Date.parse(body.timestamp as string) - 1 - random(1e6)).toISOString();
      if (field === "logId") body.logId = `${body.logId}-other`;
    });
    return `${field} of checkpoint ${at}`;
  },
  "alter a checkpoint's signature": (copy, _signed, random) => {
    const at = random(copy.checkpoints.length);
    copy.checkpoints[at] = {
      ...copy.checkpoints[at]!,
      signature: flipBase64(copy.checkpoints[at]!.signature, random),
    };
    return `checkpoint ${at}`;
  },
  "edit an event and re-sign every checkpoint with another key": (copy, signed, random) => {
    const index = random(signed);
    copy.rows[index]!.payloadJson = JSON.stringify(
      alterJson(JSON.parse(copy.rows[index]!.payloadJson), random),
    );
    rechain(copy, index);
    const keyId = auditKeyId(attacker.publicKey);
    copy.checkpoints = copy.checkpoints.map((checkpoint) =>
      resign(checkpoint, copy.rows, attacker.privateKey, keyId),
    );
    return `leaf ${index}`;
  },
  "edit an event and re-sign with another key under the operator's key id": (copy, signed, random) => {
    const index = random(signed);
    copy.rows[index]!.payloadJson = JSON.stringify(
      alterJson(JSON.parse(copy.rows[index]!.payloadJson), random),
    );
    rechain(copy, index);
    const keyId = (JSON.parse(copy.checkpoints[0]!.body) as { keyId: string }).keyId;
    copy.checkpoints = copy.checkpoints.map((checkpoint) =>
      resign(checkpoint, copy.rows, attacker.privateKey, keyId),
    );
    return `leaf ${index}`;
  },
  "drop the newest checkpoints and cut into the one before": (copy, _signed, random) => {
    // The newest checkpoints are gone and the log is cut into the newest one left, which still covers the cut.
    const keep = Math.max(1, copy.checkpoints.length - 1 - random(copy.checkpoints.length - 1));
    const size = (JSON.parse(copy.checkpoints[keep - 1]!.body) as { treeSize: number }).treeSize;
    copy.rows = copy.rows.slice(0, size - 1 - random(3));
    tidy(copy);
    copy.checkpoints = copy.checkpoints.slice(0, keep);
    return `to ${copy.rows.length}`;
  },
};

async function verifyCopy(copy: LogCopy, trustedKeys: ReadonlyMap<string, KeyObject>): Promise<AuditVerdict> {
  return await verifyAuditLog({
    pages: (async function* () {
      for (let start = 0; start < copy.rows.length; start += 32) yield copy.rows.slice(start, start + 32);
    })(),
    checkpoints: copy.checkpoints,
    trustedKeys,
    logId: copy.logId,
    expectedSize: copy.size,
    runHeads: copy.runHeads,
  });
}

/** One way to tamper with a bundle. */
type BundleTampering = (bundle: AuditBundle, random: Random) => void;

function editLine(bundle: AuditBundle, index: number, change: (leaf: Record<string, unknown>) => void): void {
  const leaf = JSON.parse(bundle.events[index]!) as Record<string, unknown>;
  change(leaf);
  bundle.events[index] = fastCanonicalJson(leaf);
}

const BUNDLE_TAMPERINGS: Record<string, BundleTampering> = {
  "edit an event line": (bundle, random) =>
    editLine(bundle, random(bundle.events.length), (leaf) => {
      leaf.payload = alterJson(leaf.payload, random);
    }),
  "edit an event line and fix its hashes": (bundle, random) => {
    const index = random(bundle.events.length);
    editLine(bundle, index, (leaf) => {
      leaf.payload = alterJson(leaf.payload, random);
      const row = sealRow(
        { ...(leaf as unknown as StoredLeafRow), payloadJson: JSON.stringify(leaf.payload) },
        leaf.prevHash as string,
      );
      Object.assign(leaf, { payloadHash: row.payloadHash, hash: row.hash });
    });
  },
  "write an event line in another JSON form": (bundle, random) => {
    const index = random(bundle.events.length);
    bundle.events[index] = JSON.stringify(
      JSON.parse(bundle.events[index]!),
      null,
      random(2) === 0 ? 1 : undefined,
    ).replace(/^\{"at"/, '{ "at"');
  },
  "delete an event line": (bundle, random) => {
    // Not a run bundle's last line: inclusion proofs show what a bundle holds, not that nothing follows it
    // (docs/security.md says so); a log bundle covers that case.
    const last = bundle.manifest.scope.kind === "run" ? bundle.events.length - 1 : bundle.events.length;
    const index = random(last);
    bundle.events.splice(index, 1);
    bundle.manifest.events -= 1;
    if (bundle.manifest.scope.kind === "run") {
      bundle.proofs.inclusion.splice(index, 1);
      bundle.proofs.inclusion.forEach((entry, offset) => {
        entry.line = offset + 1;
      });
    }
  },
  "swap two event lines": (bundle, random) => {
    const a = random(bundle.events.length);
    const b = (a + 1 + random(bundle.events.length - 1)) % bundle.events.length;
    [bundle.events[a], bundle.events[b]] = [bundle.events[b]!, bundle.events[a]!];
  },
  "change an inclusion proof": (bundle, random) => {
    if (bundle.proofs.inclusion.length === 0) {
      bundle.events.pop();
      return;
    }
    const entry = bundle.proofs.inclusion[random(bundle.proofs.inclusion.length)]!;
    if (entry.path.length === 0 || random(3) === 0)
      entry.leafIndex = (entry.leafIndex + 1 + random(3)) % bundle.manifest.treeSize;
    else entry.path[random(entry.path.length)] = flipHex(entry.path[random(entry.path.length)]!, random);
  },
  "change a consistency proof": (bundle, random) => {
    const entry = bundle.proofs.consistency[random(bundle.proofs.consistency.length)]!;
    if (random(4) === 0) entry.proof.pop();
    else {
      const at = random(entry.proof.length);
      entry.proof[at] = flipHex(entry.proof[at]!, random);
    }
  },
  "alter a checkpoint or its signature": (bundle, random) => {
    const at = random(bundle.checkpoints.length);
    bundle.checkpoints[at] =
      random(2) === 0
        ? { ...bundle.checkpoints[at]!, signature: flipBase64(bundle.checkpoints[at]!.signature, random) }
        : editBody(bundle.checkpoints[at]!, (body) => {
            body.rootHash = flipHex(body.rootHash as string, random);
          });
  },
  "replace the key and re-sign everything after an edit": (bundle, random) => {
    const index = random(bundle.events.length);
    editLine(bundle, index, (leaf) => {
      leaf.payload = alterJson(leaf.payload, random);
    });
    const keyId = auditKeyId(attacker.publicKey);
    bundle.keys = [
      { keyId, algorithm: "Ed25519", publicKey: rawPublicKey(attacker.publicKey).toString("base64") },
    ];
    bundle.checkpoints = bundle.checkpoints.map((checkpoint) => {
      const body = JSON.parse(checkpoint.body) as CheckpointBody;
      const signed = signCheckpoint({ ...body, keyId }, attacker.privateKey);
      return { body: signed.body, signature: signed.signature };
    });
  },
  "change the manifest's size or log id": (bundle, random) => {
    if (random(2) === 0) bundle.manifest.treeSize += 1 + random(3);
    else bundle.manifest.logId = `${bundle.manifest.logId}-other`;
  },
};

function cloneBundle(bundle: AuditBundle): AuditBundle {
  return structuredClone(bundle);
}

describe("tampering trials", () => {
  const log = syntheticAuditLog({ events: 64, runs: 9, checkpointEvery: 13, seed: SEED });
  const signed = (JSON.parse(log.checkpoints.at(-1)!.body) as { treeSize: number }).treeSize;
  const trusted = new Map([[log.key.keyId, log.key.publicKey]]);

  test("the untouched log and its bundles verify, so every failure below is the tampering's", async () => {
    const verdict = await verifyCopy(copyLog(log), trusted);
    assert.deepEqual(verdict.problems, []);
    assert.equal(verdict.checkpoints, 4);
    for (const runId of [undefined, log.rows[0]!.runId]) {
      const bundleVerdict = await verifyAuditBundle(await syntheticBundle(log, runId), {
        trustedKeys: trusted,
      });
      assert.deepEqual(bundleVerdict.problems, [], `bundle ${runId ?? "log"}`);
    }
  });

  test(`detect every one of ${LOG_TRIALS.toLocaleString("en")} randomized tamperings of a signed log`, async () => {
    const random = seededRandom(SEED);
    const names = Object.keys(LOG_TAMPERINGS);
    const detected = new Map(names.map((name) => [name, 0]));
    for (let trial = 0; trial < LOG_TRIALS; trial++) {
      const name = names[trial % names.length]!;
      const copy = copyLog(log);
      const where = LOG_TAMPERINGS[name]!(copy, signed, random);
      const verdict = await verifyCopy(copy, trusted);
      assert.equal(verdict.ok, false, `trial ${trial} (seed ${SEED}): "${name}" ${where} went unnoticed`);
      detected.set(name, detected.get(name)! + 1);
    }
    assert.equal(
      [...detected.values()].reduce((sum, count) => sum + count, 0),
      LOG_TRIALS,
    );
    console.log(`log trials: ${JSON.stringify(Object.fromEntries(detected))}`);
  });

  test(`detect every one of ${BUNDLE_TRIALS.toLocaleString("en")} randomized tamperings of exported bundles`, async () => {
    const random = seededRandom(SEED + 1);
    const runId = log.rows[random(signed)]!.runId;
    const originals = [await syntheticBundle(log), await syntheticBundle(log, runId)];
    const names = Object.keys(BUNDLE_TAMPERINGS);
    let detected = 0;
    for (let trial = 0; trial < BUNDLE_TRIALS; trial++) {
      const name = names[trial % names.length]!;
      const bundle = cloneBundle(originals[trial % 2]!);
      BUNDLE_TAMPERINGS[name]!(bundle, random);
      const verdict = await verifyAuditBundle(bundle, { trustedKeys: trusted });
      assert.equal(
        verdict.ok,
        false,
        `trial ${trial} (seed ${SEED}): "${name}" on a ${bundle.manifest.scope.kind} bundle went unnoticed`,
      );
      detected++;
    }
    assert.equal(detected, BUNDLE_TRIALS);
  });
});
