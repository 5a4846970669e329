import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { SecretBytes } from '../../crypto/index.js';
import { ObjectCorruptedError } from '../errors.js';

/** The SSE mode labels, bound into every seal (a key sealed under one mode never opens as another). */
export type SseLabel = 'SSE-S3' | 'SSE-KMS' | 'DSSE-KMS' | 'SSE-C';

/**
 * Where an object key belongs: the bucket, the object key name and the object id (a fresh
 * id per write, the seam for version ids and multipart upload ids). Bound as authenticated
 * data both of the sealed object key and of every data segment.
 */
export interface ObjectBinding {
  readonly bucket: string;
  readonly key: string;
  readonly objectId: string;
}

/**
 * A sealed object key as stored in the metadata (JSON, format version `v: 1`; see
 * s3/sse/README.md). Holds no secret: every field is ciphertext, a salt or a keyed hash.
 */
export type SealedObjectKey =
  | { readonly v: 1; readonly mode: 'SSE-S3'; readonly kmsBlob: string; readonly sealed: string }
  | {
      readonly v: 1;
      readonly mode: 'SSE-KMS';
      readonly kmsBlob: string;
      readonly sealed: string;
      readonly keyArn: string;
      readonly context: Readonly<Record<string, string>>;
      /** true: `kmsBlob` seals the bucket key (context = the bucket's ARN), shared by many objects. */
      readonly bucketKey?: true;
    }
  | {
      readonly v: 1;
      readonly mode: 'DSSE-KMS';
      /** The two independent KMS data keys: layer 1 seals the object key, layer 2 seals layer 1. */
      readonly kmsBlobs: readonly [string, string];
      readonly sealed: string;
      readonly keyArn: string;
      readonly context: Readonly<Record<string, string>>;
    }
  | { readonly v: 1; readonly mode: 'SSE-C'; readonly salt: string; readonly keyCheck: string; readonly sealed: string };

/**
 * One SSE mode: seals a fresh object key for a binding and unseals it again. SSE-S3,
 * SSE-KMS and SSE-C each implement it. `seal` never stores or logs the object key; the
 * caller keeps ownership of it. `unseal` returns a SecretBytes the caller must dispose, or
 * raises (KMS errors for SSE-S3/SSE-KMS, SseCustomerKeyMismatchError for SSE-C,
 * ObjectCorruptedError when the sealed key does not authenticate).
 */
export interface SseMode {
  readonly label: SseLabel;
  seal(objectKey: SecretBytes, binding: ObjectBinding): Promise<SealedObjectKey>;
  unseal(sealed: SealedObjectKey, binding: ObjectBinding): Promise<SecretBytes>;
}

const isString = (v: unknown): v is string => typeof v === 'string';

function isContext(v: unknown): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every(isString);
}

/**
 * Checks that a sealed key read back from the metadata has the shape of its mode (a
 * damaged record must fail as corruption, not as a TypeError deep inside an unseal).
 * Raises ObjectCorruptedError; never looks at secret material (there is none in it).
 */
export function assertSealedKey(sealed: unknown): asserts sealed is SealedObjectKey {
  const s = (sealed !== null && typeof sealed === 'object' ? sealed : {}) as Record<string, unknown>;
  const ok =
    s['v'] === 1 &&
    isString(s['sealed']) &&
    (s['mode'] === 'SSE-S3'
      ? isString(s['kmsBlob'])
      : s['mode'] === 'SSE-KMS'
        ? isString(s['kmsBlob']) && isString(s['keyArn']) && isContext(s['context'])
        : s['mode'] === 'DSSE-KMS'
          ? Array.isArray(s['kmsBlobs']) && s['kmsBlobs'].length === 2 && s['kmsBlobs'].every(isString) && isString(s['keyArn']) && isContext(s['context'])
          : s['mode'] === 'SSE-C' && isString(s['salt']) && isString(s['keyCheck']));
  if (!ok) throw new ObjectCorruptedError('');
}

const SEAL_DOMAIN = 'cipherlake s3 object key v1';
const DATA_DOMAIN = 'cipherlake s3 data v1';
const PART_DOMAIN = 'cipherlake s3 part data v1';
const PART_LIST_DOMAIN = 'cipherlake s3 part list v1';

/**
 * Length-prefixed (u32be) UTF-8 fields, so no two distinct lists encode alike (keys may hold
 * any character). Written into one buffer (every PUT and GET encodes two of these): the same
 * bytes as Buffer.from per field, lone surrogates included (both write U+FFFD's 3 bytes).
 */
function encodeFields(fields: readonly string[]): Buffer {
  let size = 0;
  for (const f of fields) size += 4 + Buffer.byteLength(f, 'utf8');
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const f of fields) {
    const n = out.write(f, at + 4, 'utf8');
    out.writeUInt32BE(n, at);
    at += 4 + n;
  }
  return out;
}

/** The AAD of a sealed object key: domain ‖ mode label ‖ bucket ‖ key ‖ objectId. */
export function encodeBinding(label: SseLabel, binding: ObjectBinding): Buffer {
  return encodeFields([SEAL_DOMAIN, label, binding.bucket, binding.key, binding.objectId]);
}

/** The AAD of one layer of a multi-layer seal (DSSE-KMS): the binding plus the layer number. */
export function encodeLayerBinding(label: SseLabel, binding: ObjectBinding, layer: number): Buffer {
  return Buffer.concat([encodeBinding(label, binding), encodeFields([`layer ${layer}`])]);
}

/**
 * The segment-stream AAD of an object body: its location without the mode, so changing
 * how the object key is sealed (re-wrapping) never touches the data.
 */
export function dataBinding(binding: ObjectBinding): Buffer {
  return encodeFields([DATA_DOMAIN, binding.bucket, binding.key, binding.objectId]);
}

/**
 * The segment-stream AAD of multipart part `partNumber`: the upload's binding (objectId =
 * upload id) and the part number, so a part's ciphertext never opens as another part, at
 * another position, or in another upload or object.
 */
export function partDataBinding(binding: ObjectBinding, partNumber: number): Buffer {
  return encodeFields([PART_DOMAIN, binding.bucket, binding.key, binding.objectId, String(partNumber)]);
}

/** Bytes of a part key salt (PartRecord.keySalt, PartLayout.keySalt: base64). */
export const PART_KEY_SALT_BYTES = 32;

/** A fresh part key salt, base64: one per UploadPart or UploadPartCopy (see derivePartKey). */
export function newPartKeySalt(): string {
  return randomBytes(PART_KEY_SALT_BYTES).toString('base64');
}

/**
 * The key of multipart part `partNumber`, derived from the object key (HKDF-SHA-256), so a
 * multipart object has one sealed key however many parts it has. With `salt` (the part's
 * keySalt, fresh random bytes per upload of the part: every part written since v2), the key
 * is fresh for every upload of that part number: a replaced part's ciphertext, kept by
 * someone who can change the body files but not metadata.db, never opens where the part
 * that replaced it stands (with v1 both opened under the same key and binding; a writer of
 * metadata.db who puts its recorded salt back too fails on the part list's tag,
 * partListTag). Without it, v1 (parts written before): read only. Raises
 * ObjectCorruptedError for a salt that is not a string of PART_KEY_SALT_BYTES in canonical
 * base64 (the part list is parsed from JSON unchecked: null or a number arrive here too).
 * Caller disposes the result.
 */
export function derivePartKey(objectKey: SecretBytes, partNumber: number, salt?: string): SecretBytes {
  if (salt === undefined) {
    const info = Buffer.from(`cipherlake s3 part key v1:${partNumber}`, 'utf8');
    return SecretBytes.adopt(Buffer.from(hkdfSync('sha256', objectKey.unsafeBytes(), Buffer.alloc(0), info, 32)));
  }
  if (typeof salt !== 'string') throw new ObjectCorruptedError('');
  const saltBytes = Buffer.from(salt, 'base64');
  if (saltBytes.length !== PART_KEY_SALT_BYTES || saltBytes.toString('base64') !== salt) throw new ObjectCorruptedError('');
  const info = Buffer.from(`cipherlake s3 part key v2:${partNumber}`, 'utf8');
  return SecretBytes.adopt(Buffer.from(hkdfSync('sha256', objectKey.unsafeBytes(), saltBytes, info, 32)));
}

/** One entry of a part list as partListTag reads it (PartLayout's fields). */
export interface TaggedPart {
  readonly partNumber: number;
  readonly size: number;
  readonly keySalt?: string;
}

/**
 * The tag of a completed multipart object's part list (base64): HMAC-SHA256 under
 * HKDF-SHA256(K, no salt, info "cipherlake s3 part list v1") over the binding and, per part
 * in order, its number, size and key salt ("" for none). Computed at completion, checked
 * before a multipart body is read (checkPartList): a part list rewritten in the metadata —
 * parts dropped, reordered or repeated, sizes changed, a replaced part's salt put back —
 * fails instead of joining sealed streams that each open.
 */
export function partListTag(objectKey: SecretBytes, binding: ObjectBinding, parts: readonly TaggedPart[]): string {
  const fields = [PART_LIST_DOMAIN, binding.bucket, binding.key, binding.objectId, String(parts.length)];
  for (const p of parts) fields.push(String(p.partNumber), String(p.size), p.keySalt ?? '');
  const macKey = Buffer.from(hkdfSync('sha256', objectKey.unsafeBytes(), Buffer.alloc(0), Buffer.from(PART_LIST_DOMAIN, 'utf8'), 32));
  try {
    return createHmac('sha256', macKey).update(encodeFields(fields)).digest('base64');
  } finally {
    macKey.fill(0);
  }
}

/**
 * Whether a multipart object's part list may be read: its tag matches (constant time), or it
 * has none and none is owed. A tag is owed by every object with a salted part (written since
 * part keys were salted, when completion also began tagging) except SSE-C ones, whose
 * completion may come without the key (S3 lets it; rclone sends none) and so without a tag.
 * Removing a tag does not help a list with salted parts; removing the salts makes those parts
 * unreadable.
 */
export function partListVerifies(objectKey: SecretBytes, o: ObjectBinding & { readonly parts: readonly TaggedPart[]; readonly partsTag?: string; readonly sealedKey: SealedObjectKey }): boolean {
  if (o.partsTag === undefined) return o.sealedKey.mode === 'SSE-C' || o.parts.every((p) => p.keySalt === undefined);
  if (typeof o.partsTag !== 'string') return false;
  const expected = Buffer.from(partListTag(objectKey, o, o.parts), 'base64');
  const stored = Buffer.from(o.partsTag, 'base64');
  return stored.length === expected.length && timingSafeEqual(stored, expected);
}
