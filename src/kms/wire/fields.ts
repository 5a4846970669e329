import { validateContext, type EncryptionContext } from '../encryption-context.js';
import { ValidationError } from '../errors.js';

/** A parsed JSON request body. */
export type JsonObject = Record<string, unknown>;

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

function fail(field: string, value: unknown, constraint: string): never {
  const shown = value === undefined || value === null ? 'null' : typeof value === 'string' ? `'${value.slice(0, 64)}'` : String(value).slice(0, 64);
  throw new ValidationError(`1 validation error detected: Value ${shown} at '${lowerFirst(field)}' failed to satisfy constraint: ${constraint}`);
}

/** A key identifier's length bounds: one shared object, as every crypto request reads one. */
const KEY_ID_LENGTH = Object.freeze({ min: 1, max: 2048 });

// Hoisted: a pattern literal in #blob would build a RegExp object per blob read (Decrypt reads one per request).
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Typed reads of a KMS JSON request's fields, raising ValidationError with AWS's wording.
 * Plaintext-bearing fields are read with `blob`, whose errors never echo the value.
 */
export class Fields {
  constructor(private readonly body: JsonObject) {}

  has(name: string): boolean {
    return this.body[name] !== undefined && this.body[name] !== null;
  }

  string(name: string, opts: { min?: number; max?: number } = {}): string | undefined {
    const v = this.body[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw new ValidationError(`Value for '${lowerFirst(name)}' must be a string`);
    if (opts.min !== undefined && v.length < opts.min) fail(name, v, `Member must have length greater than or equal to ${opts.min}`);
    if (opts.max !== undefined && v.length > opts.max) fail(name, v, `Member must have length less than or equal to ${opts.max}`);
    return v;
  }

  requiredString(name: string, opts: { min?: number; max?: number } = {}): string {
    const v = this.string(name, opts.min === undefined ? { min: 1, ...opts } : opts);
    if (v === undefined) fail(name, v, 'Member must not be null');
    return v;
  }

  keyId(name = 'KeyId'): string {
    return this.requiredString(name, KEY_ID_LENGTH);
  }

  optionalKeyId(name = 'KeyId'): string | undefined {
    return this.string(name, KEY_ID_LENGTH);
  }

  enumValue<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(v)) fail(name, v, `Member must satisfy enum value set: [${allowed.join(', ')}]`);
    return v as T;
  }

  integer(name: string, min: number, max: number): number | undefined {
    const v = this.body[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new ValidationError(`Value for '${lowerFirst(name)}' must be an integer`);
    if (v < min) fail(name, v, `Member must have value greater than or equal to ${min}`);
    if (v > max) fail(name, v, `Member must have value less than or equal to ${max}`);
    return v;
  }

  boolean(name: string): boolean | undefined {
    const v = this.body[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') throw new ValidationError(`Value for '${lowerFirst(name)}' must be a boolean`);
    return v;
  }

  /** A base64 blob field. Never echoes the value in an error. */
  blob(name: string, opts: { min?: number; max?: number; required?: boolean } = {}): Buffer | undefined {
    return this.#blob(name, opts, opts.required === true);
  }

  requiredBlob(name: string, opts: { min?: number; max?: number } = {}): Buffer {
    // `required` passed apart rather than spread into a copy of opts (Decrypt reads one per request).
    return this.#blob(name, opts, true)!;
  }

  #blob(name: string, opts: { min?: number; max?: number }, required: boolean): Buffer | undefined {
    const v = this.body[name];
    if (v === undefined || v === null) {
      if (required) fail(name, undefined, 'Member must not be null');
      return undefined;
    }
    if (typeof v !== 'string' || !BASE64.test(v)) throw new ValidationError(`Value for '${lowerFirst(name)}' must be base64-encoded binary data`);
    const bytes = Buffer.from(v, 'base64');
    const min = opts.min ?? 1;
    if (bytes.length < min) throw new ValidationError(`1 validation error detected: Value at '${lowerFirst(name)}' failed to satisfy constraint: Member must have length greater than or equal to ${min}`);
    if (opts.max !== undefined && bytes.length > opts.max) {
      throw new ValidationError(`1 validation error detected: Value at '${lowerFirst(name)}' failed to satisfy constraint: Member must have length less than or equal to ${opts.max}`);
    }
    return bytes;
  }

  context(name = 'EncryptionContext'): EncryptionContext | undefined {
    return validateContext(this.body[name], name);
  }

  stringList(name: string, opts: { max?: number } = {}): string[] | undefined {
    const v = this.body[name];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new ValidationError(`Value for '${lowerFirst(name)}' must be a list of strings`);
    if (opts.max !== undefined && v.length > opts.max) fail(name, `[${v.length} items]`, `Member must have length less than or equal to ${opts.max}`);
    return v as string[];
  }

  raw(name: string): unknown {
    return this.body[name];
  }
}

/** Seconds since the epoch, as KMS writes timestamps. */
export function epochSeconds(d: Date): number {
  return d.getTime() / 1000;
}
