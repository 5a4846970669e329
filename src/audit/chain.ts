import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import type { AuditSigner } from './signer.js';

// Format (stable; see README.md "Chain format"). Version byte 0x01 starts every hash input
// so a later format can be told apart; seq is bound so a record cannot be moved.

/** Version byte that begins every record hash input. Persisted: never changes meaning. */
export const CHAIN_FORMAT_VERSION = 0x01;

/** The prevHash of record 1: 32 zero bytes, hex. */
export const GENESIS_HASH = '0'.repeat(64);

/** One stored record: the canonical JSON of the event and its place in the chain. */
export interface ChainedRecord {
  seq: number;
  eventJson: string;
  prevHash: string;
  hash: string;
}

/**
 * hash = SHA-256(0x01 || prevHash (32 bytes) || seq (uint64 big-endian) || UTF-8 eventJson), hex.
 * Raises RangeError when prevHash is not 64 hex digits or seq is not a positive safe integer.
 */
export function recordHash(prevHash: string, seq: number, eventJson: string): string {
  if (!/^[0-9a-f]{64}$/.test(prevHash)) throw new RangeError('prevHash must be 64 lower-case hex digits');
  if (!Number.isSafeInteger(seq) || seq < 1) throw new RangeError('seq must be a positive safe integer');
  const seqBytes = Buffer.alloc(8);
  seqBytes.writeBigUInt64BE(BigInt(seq));
  return createHash('sha256')
    .update(Buffer.of(CHAIN_FORMAT_VERSION))
    .update(Buffer.from(prevHash, 'hex'))
    .update(seqBytes)
    .update(eventJson, 'utf8')
    .digest('hex');
}

/** Links a canonical event after `prev` (or genesis): the record to store. */
export function chainRecord(prev: { seq: number; hash: string }, eventJson: string): ChainedRecord {
  const seq = prev.seq + 1;
  return { seq, eventJson, prevHash: prev.hash, hash: recordHash(prev.hash, seq, eventJson) };
}

/** The signed statement about a range of records. Persisted format: `digestVersion` 1. */
export interface DigestPayload {
  digestVersion: 1;
  keyId: string;
  fromSeq: number;
  toSeq: number;
  startPrevHash: string; // prevHash of fromSeq: lets the range verify on its own
  lastHash: string; // hash of toSeq
  previousDigestSignature: string | null; // base64; null for the first digest
  time: string; // ISO 8601 UTC
}

/** A digest as stored and exported: the exact signed bytes and the signature over them. */
export interface SignedDigest {
  payloadJson: string; // canonical JSON of DigestPayload: the bytes that were signed
  signature: string; // base64 DER ECDSA signature
}

/** Canonicalises and signs `payload`. Errors from the signer propagate unchanged. */
export async function signDigest(payload: DigestPayload, signer: AuditSigner): Promise<SignedDigest> {
  const payloadJson = canonicalJson(payload);
  const signature = await signer.sign(Buffer.from(payloadJson, 'utf8'));
  return { payloadJson, signature: signature.toString('base64') };
}

/** Parses a digest's payload; returns null when it is not a version-1 digest (treated as forged). */
export function parseDigestPayload(payloadJson: string): DigestPayload | null {
  let p: unknown;
  try {
    p = JSON.parse(payloadJson);
  } catch {
    return null;
  }
  if (typeof p !== 'object' || p === null) return null;
  const d = p as Partial<DigestPayload>;
  const ok =
    d.digestVersion === 1 &&
    typeof d.keyId === 'string' &&
    Number.isSafeInteger(d.fromSeq) &&
    Number.isSafeInteger(d.toSeq) &&
    typeof d.startPrevHash === 'string' &&
    typeof d.lastHash === 'string' &&
    (d.previousDigestSignature === null || typeof d.previousDigestSignature === 'string') &&
    typeof d.time === 'string';
  return ok ? (d as DigestPayload) : null;
}
