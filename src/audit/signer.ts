import { createHash, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/** The one signature algorithm digests use: ECDSA on P-256 over SHA-256, DER-encoded (as KMS ECDSA_SHA_256). */
export const AUDIT_SIGNATURE_ALGORITHM = 'ECDSA_SHA_256';

/**
 * Signs audit digests. The private half never leaves the implementation: the local
 * signer keeps it in a KeyObject, and the KMS-backed signer will keep it inside KMS.
 */
export interface AuditSigner {
  /** Stable id of the signing key, written into each digest so a verifier can pick the key. */
  readonly keyId: string;
  /** Signs `message` (the digest's canonical bytes; the signer hashes it with SHA-256). */
  sign(message: Buffer): Promise<Buffer>;
  /** The public key as SPKI DER. */
  publicKeyDer(): Buffer;
  /** The public key as SPKI PEM, for handing to `verifyAudit` or an auditor. */
  publicKeyPem(): string;
}

/** A public key a verifier accepts: PEM text, SPKI DER bytes, or a KeyObject. */
export type AuditPublicKey = string | Buffer | KeyObject;

/**
 * An in-process ECDSA P-256 signer for tests and single-node setups without KMS. The key
 * id is the SHA-256 fingerprint of the public key (hex), like CloudTrail's
 * digestPublicKeyFingerprint. The private key is never exported.
 */
export class LocalAuditSigner implements AuditSigner {
  readonly keyId: string;
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;

  private constructor(privateKey: KeyObject, publicKey: KeyObject) {
    this.#privateKey = privateKey;
    this.#publicKey = publicKey;
    this.keyId = publicKeyFingerprint(publicKey);
  }

  /** A fresh key pair from the OS CSPRNG. */
  static generate(): LocalAuditSigner {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    return new LocalAuditSigner(privateKey, publicKey);
  }

  /** Uses an existing private KeyObject (EC P-256); raises TypeError for any other key type. */
  static fromPrivateKey(privateKey: KeyObject): LocalAuditSigner {
    if (privateKey.type !== 'private' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new TypeError('audit signing key must be an EC P-256 private key');
    }
    return new LocalAuditSigner(privateKey, createPublicKey(privateKey));
  }

  sign(message: Buffer): Promise<Buffer> {
    return Promise.resolve(sign('sha256', message, { key: this.#privateKey, dsaEncoding: 'der' }));
  }

  publicKeyDer(): Buffer {
    return this.#publicKey.export({ type: 'spki', format: 'der' });
  }

  publicKeyPem(): string {
    return this.#publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }
}

/** Parses PEM / SPKI DER / KeyObject into a public KeyObject; raises TypeError when it is none. */
export function toPublicKey(key: AuditPublicKey): KeyObject {
  if (typeof key === 'string') return createPublicKey(key);
  if (Buffer.isBuffer(key)) return createPublicKey({ key, format: 'der', type: 'spki' });
  return key.type === 'public' ? key : createPublicKey(key);
}

/** SHA-256 of the SPKI DER, hex: the key id digests carry. */
export function publicKeyFingerprint(key: AuditPublicKey): string {
  const der = toPublicKey(key).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex');
}

/** True when `signature` is a valid ECDSA-SHA256 (DER) signature of `message` under any of `keys`. Never throws on bad input. */
export function verifyWithAny(keys: readonly KeyObject[], message: Buffer, signature: Buffer): boolean {
  return keys.some((key) => {
    try {
      return verify('sha256', message, { key, dsaEncoding: 'der' }, signature);
    } catch {
      return false;
    }
  });
}
