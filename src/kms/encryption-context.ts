import { hasLoneSurrogate } from '../common/lone-surrogate.js';
import { ValidationError } from './errors.js';

/** An encryption context: non-secret key/value pairs bound to a ciphertext. */
export type EncryptionContext = Readonly<Record<string, string>>;

/**
 * The canonical binary form of an encryption context, used as authenticated data.
 *
 * Layout: uint32 pair count, then for each pair in ascending order of the key's UTF-8
 * bytes: uint32 key length, key bytes, uint32 value length, value bytes (all big-endian).
 * The length prefixes make the encoding injective: no two different contexts produce the
 * same bytes, as a bare concatenation could ("a"+"bc" vs "ab"+"c").
 */
export function canonicalContext(context: EncryptionContext | undefined): Buffer {
  return prefixedCanonicalContext(EMPTY, context);
}

const EMPTY = Buffer.alloc(0);

/**
 * `prefix ‖ canonicalContext(context)` in one buffer, written in place: one allocation
 * per call instead of a buffer per length and per string plus two concatenations (this
 * runs for every Encrypt, Decrypt and GenerateDataKey, where it builds the AAD).
 */
export function prefixedCanonicalContext(prefix: Uint8Array, context: EncryptionContext | undefined): Buffer {
  const keys = context === undefined ? NO_KEYS : Object.keys(context);
  if (keys.length <= 1) return prefixedSingleContext(prefix, context, keys[0]);
  // Only keys are compared as bytes (the order is that of their UTF-8), so only they are encoded up front.
  const pairs = keys.map((k) => {
    const value = (context as EncryptionContext)[k] as string;
    return { key: keyBytes(k), value, valueLength: Buffer.byteLength(value, 'utf8') };
  });
  if (pairs.length > 1) pairs.sort((a, b) => Buffer.compare(a.key, b.key));
  let size = prefix.length + 4;
  for (const p of pairs) size += 8 + p.key.length + p.valueLength;
  const out = Buffer.allocUnsafe(size);
  out.set(prefix, 0);
  let at = out.writeUInt32BE(pairs.length, prefix.length);
  for (const p of pairs) {
    at = out.writeUInt32BE(p.key.length, at);
    at += p.key.copy(out, at);
    at = out.writeUInt32BE(p.valueLength, at);
    at += out.write(p.value, at, 'utf8');
  }
  return out;
}

const NO_KEYS: readonly string[] = [];

/**
 * prefixedCanonicalContext for a context of at most one pair (`key`, undefined for none),
 * the common case (S3's `aws:s3:arn`, one `purpose`): the same bytes, with nothing to sort,
 * so no per-pair object, closure or array.
 */
function prefixedSingleContext(prefix: Uint8Array, context: EncryptionContext | undefined, key: string | undefined): Buffer {
  if (key === undefined || context === undefined) {
    const out = Buffer.allocUnsafe(prefix.length + 4);
    out.set(prefix, 0);
    out.writeUInt32BE(0, prefix.length);
    return out;
  }
  const kb = keyBytes(key);
  const value = context[key] as string;
  const valueLength = Buffer.byteLength(value, 'utf8');
  const out = Buffer.allocUnsafe(prefix.length + 12 + kb.length + valueLength);
  out.set(prefix, 0);
  let at = out.writeUInt32BE(1, prefix.length);
  at = out.writeUInt32BE(kb.length, at);
  at += kb.copy(out, at);
  at = out.writeUInt32BE(valueLength, at);
  out.write(value, at, 'utf8');
  return out;
}

// Context keys repeat from call to call (`purpose`, `aws:s3:arn`, …): their UTF-8 bytes are
// kept, read-only. Bounded, as the keys are the callers'; long keys are not kept at all.
const KEY_BYTES = new Map<string, Buffer>();
const KEY_BYTES_LIMIT = 4096;

function keyBytes(k: string): Buffer {
  let bytes = KEY_BYTES.get(k);
  if (bytes === undefined) {
    bytes = Buffer.from(k, 'utf8');
    if (k.length <= 256) {
      if (KEY_BYTES.size >= KEY_BYTES_LIMIT) KEY_BYTES.clear();
      KEY_BYTES.set(k, bytes);
    }
  }
  return bytes;
}

/**
 * Checks an encryption context from the wire: string keys and values, as KMS requires.
 * Raises ValidationError otherwise.
 */
export function validateContext(value: unknown, field = 'EncryptionContext'): EncryptionContext | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw new ValidationError(`${field} must be a map of strings`);
  // Own keys as Object.entries walks them, without building the entry pairs (runs per request).
  for (const k in value) {
    if (!Object.hasOwn(value, k)) continue;
    const v: unknown = (value as Record<string, unknown>)[k];
    if (typeof v !== 'string' || k.length === 0) throw new ValidationError(`${field} must be a map of non-empty string keys to string values`);
    // A lone surrogate has no UTF-8 form: the canonical encoding would write U+FFFD for every
    // one of them, so {"k":"\uD800"} and {"k":"\uDBFF"} would bind the same context.
    if (hasLoneSurrogate(k) || hasLoneSurrogate(v)) throw new ValidationError(`${field} keys and values must be well-formed Unicode (no lone surrogates)`);
  }
  return value as EncryptionContext;
}
