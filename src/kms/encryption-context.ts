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
  const entries = Object.entries(context ?? {}).map(([k, v]) => [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8')] as const);
  entries.sort((a, b) => Buffer.compare(a[0], b[0]));
  const parts: Buffer[] = [u32(entries.length)];
  for (const [k, v] of entries) parts.push(u32(k.length), k, u32(v.length), v);
  return Buffer.concat(parts);
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n);
  return b;
}

/**
 * Checks an encryption context from the wire: string keys and values, as KMS requires.
 * Raises ValidationError otherwise.
 */
export function validateContext(value: unknown, field = 'EncryptionContext'): EncryptionContext | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw new ValidationError(`${field} must be a map of strings`);
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string' || k.length === 0) throw new ValidationError(`${field} must be a map of non-empty string keys to string values`);
  }
  return value as EncryptionContext;
}
