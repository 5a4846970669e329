import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import type { SecretBytes } from '../crypto/secret-bytes.js';
import { prefixedCanonicalContext, type EncryptionContext } from './encryption-context.js';
import { InvalidCiphertextError } from './errors.js';
import { publicRandomBytes } from '../crypto/random-pool.js';
import { nativeGcm } from '../crypto/native-gcm/binding.js';

/**
 * Persisted format codes of KMS ciphertext blobs. A code never changes meaning; a new
 * layout gets a new code and readers keep decoding the old ones.
 */
export const BLOB_FORMAT = { V1: 0x01 } as const;

const HEADER_BYTES = 1 + 16 + 4 + 16 + 12; // version, key id, key version, salt, iv
const TAG_BYTES = 16;
const HKDF_INFO = Buffer.from('cipherlake/kms/blob/v1', 'utf8');

/** What a blob's header says, readable without any key. */
export interface BlobHeader {
  readonly format: number;
  readonly keyId: string;
  readonly keyVersion: number;
}

/**
 * Randomness source; tests inject a fixed one to reproduce known answers. sealBlob asks it
 * once per message for the salt and the IV together (16 + 12 bytes, salt first) and copies
 * the bytes out at once, so a source may hand back a view it reuses later.
 */
export type RandomSource = (n: number) => Buffer;

const SALT_AND_IV_BYTES = 16 + 12;

/**
 * Reads a blob's header (format, key id, key version). Raises InvalidCiphertextError for
 * anything that is not a well-formed blob of a known format; it checks no tag.
 */
export function readBlobHeader(blob: Uint8Array): BlobHeader {
  checkBlobShape(blob);
  const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  return { format: BLOB_FORMAT.V1, keyId: uuidFromBytes(buf.subarray(1, 17)), keyVersion: buf.readUInt32BE(17) };
}

/** Raises InvalidCiphertextError unless `blob` is long enough for a V1 blob and says V1. */
function checkBlobShape(blob: Uint8Array): void {
  if (blob.length < HEADER_BYTES + TAG_BYTES || blob[0] !== BLOB_FORMAT.V1) throw new InvalidCiphertextError();
}

/**
 * Seals `plaintext` under one version of a symmetric KMS key (see FORMAT.md beside this
 * file). A fresh salt gives a fresh derived key per message, so the material's GCM nonce
 * space is never shared between messages. With the native addon (src/crypto/native-gcm/)
 * loaded, the key derivation and the cipher run in one native call; node:crypto otherwise,
 * with the same bytes.
 */
export function sealBlob(
  material: SecretBytes,
  keyId: string,
  keyVersion: number,
  plaintext: Uint8Array,
  context: EncryptionContext | undefined,
  random: RandomSource = publicRandomBytes,
): Buffer {
  // One allocation for header ‖ body ‖ tag; the header is written in place.
  const out = Buffer.allocUnsafe(HEADER_BYTES + plaintext.length + TAG_BYTES);
  out[0] = BLOB_FORMAT.V1;
  uuidToBytes(keyId).copy(out, 1);
  out.writeUInt32BE(keyVersion, 17);
  const saltAndIv = random(SALT_AND_IV_BYTES);
  if (saltAndIv.length !== SALT_AND_IV_BYTES) throw new Error('random source returned the wrong length');
  saltAndIv.copy(out, 21);
  const header = out.subarray(0, HEADER_BYTES);
  const aad = prefixedCanonicalContext(header, context);
  const native = nativeGcm();
  if (native !== undefined) {
    // HKDF and AES-GCM in one native call: the derived key never reaches JavaScript.
    native.hkdfGcmSeal(material.unsafeBytes(), header.subarray(21, 37), HKDF_INFO, header.subarray(37, 49), aad, plaintext, out, HEADER_BYTES);
    return out;
  }
  const key = deriveMessageKey(material, header.subarray(21, 37));
  try {
    const cipher = createCipheriv('aes-256-gcm', key, header.subarray(37, 49));
    cipher.setAAD(aad);
    const body = cipher.update(plaintext);
    cipher.final(); // GCM emits nothing here
    body.copy(out, HEADER_BYTES);
    cipher.getAuthTag().copy(out, HEADER_BYTES + body.length);
    return out;
  } finally {
    key.fill(0);
  }
}

/**
 * Opens a blob made by sealBlob with the same material and encryption context. Raises
 * InvalidCiphertextError for every failure (tampering, wrong key, wrong context) and never
 * returns plaintext whose tag did not verify.
 */
export function openBlob(material: SecretBytes, blob: Uint8Array, context: EncryptionContext | undefined): Buffer {
  checkBlobShape(blob); // what readBlobHeader checks; the key id is not needed here
  const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const header = buf.subarray(0, HEADER_BYTES);
  const aad = prefixedCanonicalContext(header, context);
  const native = nativeGcm();
  if (native !== undefined) {
    // Plaintext is key material more often than not: a buffer of its own, not a pool slice.
    const out = Buffer.allocUnsafeSlow(buf.length - HEADER_BYTES - TAG_BYTES);
    const body = buf.subarray(HEADER_BYTES, buf.length - TAG_BYTES);
    // On a bad tag the addon has zeroed out already.
    if (!native.hkdfGcmOpen(material.unsafeBytes(), header.subarray(21, 37), HKDF_INFO, header.subarray(37, 49), aad, body, buf.subarray(buf.length - TAG_BYTES), out)) {
      throw new InvalidCiphertextError();
    }
    return out;
  }
  const key = deriveMessageKey(material, header.subarray(21, 37));
  let out: Buffer | undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, header.subarray(37, 49));
    decipher.setAAD(aad);
    decipher.setAuthTag(buf.subarray(buf.length - TAG_BYTES));
    out = decipher.update(buf.subarray(HEADER_BYTES, buf.length - TAG_BYTES));
    decipher.final();
    return out;
  } catch {
    // update wrote the plaintext before final checked the tag (under a wrong context, the
    // real plaintext): zeroed here, as the addon does, not left to the GC.
    out?.fill(0);
    throw new InvalidCiphertextError();
  } finally {
    key.fill(0);
  }
}

const HKDF_EXPAND_INPUT = Buffer.concat([HKDF_INFO, Buffer.of(1)]);

/**
 * HKDF-SHA256 (RFC 5869) with L = 32: PRK = HMAC(salt, ikm), OKM = HMAC(PRK, info ‖ 0x01),
 * for the node:crypto path (the addon derives the same key in C). Written out because one
 * output block needs just these two HMACs, and node's hkdfSync costs about twice as much per
 * call (it builds a KeyObject each time); the known-answer vectors in testdata/blob-v1.json
 * pin the result.
 */
function deriveMessageKey(material: SecretBytes, salt: Buffer): Buffer {
  const prk = createHmac('sha256', salt).update(material.unsafeBytes()).digest();
  try {
    return createHmac('sha256', prk).update(HKDF_EXPAND_INPUT).digest();
  } finally {
    prk.fill(0);
  }
}

// Key ids repeat from call to call; their 16 bytes are kept (bounded: ids come from the store).
const UUID_BYTES = new Map<string, Buffer>();

function uuidToBytes(uuid: string): Buffer {
  const cached = UUID_BYTES.get(uuid);
  if (cached !== undefined) return cached;
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/.test(hex)) throw new Error(`not a key uuid: ${uuid}`);
  const bytes = Buffer.from(hex, 'hex');
  if (UUID_BYTES.size >= 4096) UUID_BYTES.clear();
  UUID_BYTES.set(uuid, bytes);
  return bytes;
}

// Decrypt reads a blob's header up to three times (authorize, operate, open), and blobs of
// one key follow each other: the last id read is remembered with its 16 bytes.
const lastIdBytes = Buffer.alloc(16);
let lastId = '';

function uuidFromBytes(b: Buffer): string {
  if (lastId !== '' && b.equals(lastIdBytes)) return lastId;
  const h = b.toString('hex');
  const id = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  b.copy(lastIdBytes);
  lastId = id;
  return id;
}
