import { AuditEncodingError } from './errors.js';

/** A JSON value as stored in the audit trail. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * Canonical JSON: object keys sorted by UTF-16 code units, no whitespace, numbers and
 * strings as `JSON.stringify` writes them. For our value domain (finite numbers, strings,
 * booleans, null, arrays, plain objects) this is RFC 8785 (JCS), and it is idempotent:
 * `canonicalJson(JSON.parse(canonicalJson(v))) === canonicalJson(v)`, which is what lets an
 * exported record be re-hashed after a parse.
 *
 * Keys whose value is `undefined` are skipped (as JSON.stringify does). Raises
 * `AuditEncodingError` on non-finite numbers, -0, and anything that is not JSON (Buffers,
 * class instances, functions, bigint) so such a value never silently changes shape.
 */
export function canonicalJson(value: unknown): string {
  return encode(value, '$');
}

function encode(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value) || Object.is(value, -0)) {
        throw new AuditEncodingError(`non-canonical number at ${path}`);
      }
      return JSON.stringify(value);
    case 'object':
      return Array.isArray(value) ? encodeArray(value, path) : encodeObject(value, path);
    default:
      throw new AuditEncodingError(`value of type ${typeof value} at ${path} is not JSON`);
  }
}

function encodeArray(value: readonly unknown[], path: string): string {
  return `[${value.map((v, i) => encode(v === undefined ? null : v, `${path}[${i}]`)).join(',')}]`;
}

function encodeObject(value: object, path: string): string {
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new AuditEncodingError(`non-plain object at ${path}`);
  }
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${encode(v, `${path}.${k}`)}`).join(',')}}`;
}

/**
 * Exactly `JSON.stringify(s)` for a string: quoted, with `"`, `\\`, control characters and
 * lone surrogates escaped. Most audit strings (ids, ARNs, names, times) need no escape, and
 * for them a scan and one concatenation replace the general serialiser's call overhead;
 * anything else goes to JSON.stringify itself, so the output never differs. Never throws.
 */
export function quoteJsonString(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // 0x22 `"`, 0x5c `\`, controls below 0x20, and any surrogate (paired ones are left
    // as they are by JSON.stringify, but telling them apart is its job, not this scan's).
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(s);
  }
  return `"${s}"`;
}
