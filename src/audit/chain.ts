import { hash } from 'node:crypto';
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
  // The whole input is laid out in one reused buffer and hashed in one native call
  // (crypto.hash): a Hash object and four updates per record cost the writer thread about
  // three times as much as the SHA-256 itself (CPU profile of the audit writer thread).
  const buf = hashInput(prevHash, seq, eventJson.length * 3); // UTF-8 needs at most 3 bytes per UTF-16 unit
  const n = buf.write(eventJson, HASH_PREFIX_BYTES, 'utf8');
  return (lastHash = hash('sha256', buf.subarray(0, HASH_PREFIX_BYTES + n), 'hex'));
}

/**
 * recordHash of an eventJson given as its UTF-8 bytes (the same hash: recordHash encodes the
 * string so), for a writer that holds the bytes as read from a journal and never decodes them.
 * Raises as recordHash.
 */
export function recordHashOfUtf8(prevHash: string, seq: number, eventJsonUtf8: Uint8Array): string {
  const buf = hashInput(prevHash, seq, eventJsonUtf8.length);
  buf.set(eventJsonUtf8, HASH_PREFIX_BYTES);
  return (lastHash = hash('sha256', buf.subarray(0, HASH_PREFIX_BYTES + eventJsonUtf8.length), 'hex'));
}

/** A buffer holding version byte, prevHash and seq, with room for `jsonBytes` after them. */
function hashInput(prevHash: string, seq: number, jsonBytes: number): Buffer {
  // A chain passes the hash just computed as the next prevHash: that one is known to be
  // well-formed (the regex per record was ~3% of the writer thread's ingestion, perf).
  if (prevHash !== lastHash && !/^[0-9a-f]{64}$/.test(prevHash)) throw new RangeError('prevHash must be 64 lower-case hex digits');
  if (!Number.isSafeInteger(seq) || seq < 1) throw new RangeError('seq must be a positive safe integer');
  // An outsized event gets a buffer of its own, so one never pins megabytes for the thread's life.
  const buf = hashInputBuffer(HASH_PREFIX_BYTES + jsonBytes);
  buf[0] = CHAIN_FORMAT_VERSION;
  buf.write(prevHash, 1, 32, 'hex');
  // seq < 2^53: the high word fits 21 bits, so two 32-bit writes give the uint64.
  buf.writeUInt32BE(Math.floor(seq / 0x1_0000_0000), 33);
  buf.writeUInt32BE(seq >>> 0, 37);
  return buf;
}

/** Version byte, prevHash and seq: the bytes before the event JSON in a record's hash input. */
const HASH_PREFIX_BYTES = 1 + 32 + 8;
// The hash this thread computed last (lower-case hex from crypto.hash), '' before the first.
let lastHash = '';
// Shared by every recordHash call of this thread (it never yields between writing and hashing).
let scratch = Buffer.allocUnsafe(4096);
const SCRATCH_LIMIT = 256 * 1024;

/** A buffer of at least `bytes`: the shared scratch (grown up to SCRATCH_LIMIT), or a one-off above it. */
function hashInputBuffer(bytes: number): Buffer {
  if (bytes > SCRATCH_LIMIT) return Buffer.allocUnsafe(bytes);
  if (scratch.length < bytes) scratch = Buffer.allocUnsafe(Math.max(bytes, Math.min(SCRATCH_LIMIT, scratch.length * 2)));
  return scratch;
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
