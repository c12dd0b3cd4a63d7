import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

/** An encrypted original: AES-256-GCM with a fresh 96-bit nonce; the ciphertext ends with the 16-byte tag. */
export type SealedPayload = { keyId: string; nonce: string; ciphertext: string };

/**
 * Encrypts originals the runtime must still act on (a held tool call's real arguments) so they can be stored
 * beside a redacted journal. `context` is authenticated but not stored: a sealed value opens only for the
 * run and hash it was sealed for, so rows cannot be swapped between runs.
 */
export type PayloadSealer = {
  readonly keyId: string;
  seal(plaintext: string, context: string): SealedPayload;
  /** The plaintext, or null when the key is another one or the sealed value or its context was altered. */
  open(sealed: SealedPayload, context: string): string | null;
};

/** A sealer over a 32-byte key; the key id is the first 16 hex digits of the key's SHA-256. */
export function createPayloadSealer(key: Uint8Array): PayloadSealer {
  if (key.byteLength !== 32) throw new Error(`a sealing key must be 32 bytes, not ${key.byteLength}`);
  const secret = Buffer.from(key);
  const keyId = createHash("sha256").update(secret).digest("hex").slice(0, 16);
  return {
    keyId,
    seal(plaintext, context) {
      const nonce = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", secret, nonce);
      cipher.setAAD(Buffer.from(context, "utf8"));
      const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
      return { keyId, nonce: nonce.toString("base64"), ciphertext: body.toString("base64") };
    },
    open(sealed, context) {
      if (sealed.keyId !== keyId) return null;
      try {
        const body = Buffer.from(sealed.ciphertext, "base64");
        if (body.byteLength < 16) return null;
        const decipher = createDecipheriv("aes-256-gcm", secret, Buffer.from(sealed.nonce, "base64"));
        decipher.setAAD(Buffer.from(context, "utf8"));
        decipher.setAuthTag(body.subarray(body.byteLength - 16));
        return Buffer.concat([
          decipher.update(body.subarray(0, body.byteLength - 16)),
          decipher.final(),
        ]).toString("utf8");
      } catch {
        return null;
      }
    },
  };
}
