import { CipherlakeError } from '../../common/errors.js';
import { validateContext, type EncryptionContext } from '../encryption-context.js';
import { ValidationError } from '../errors.js';

/** A parsed JSON request body. */
export type JsonObject = Record<string, unknown>;

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/**
 * Coral's constraint message. A number is quoted like a string ("Value '1025' at
 * 'numberOfBytes'", as KMS answers in LocalStack's AWS-validated snapshots of GenerateRandom,
 * and as STS answers for durationSeconds); only an absent value is the bare word null.
 */
function constraintError(field: string, value: unknown, constraint: string): ValidationError {
  // A secret member is never echoed (the message reaches the audit trail): worded as a blob's is, with no value.
  if (SECRET_MEMBERS.has(field) && value !== undefined && value !== null) return new ValidationError(`1 validation error detected: Value at '${lowerFirst(field)}' failed to satisfy constraint: ${constraint}`);
  const shown = value === undefined || value === null ? 'null' : `'${(typeof value === 'string' ? value : String(value)).slice(0, 64)}'`;
  return new ValidationError(`1 validation error detected: Value ${shown} at '${lowerFirst(field)}' failed to satisfy constraint: ${constraint}`);
}

/**
 * String members whose value is a secret: a grant token (64 characters, all of it within the
 * 64 a constraint message would quote) lets its holder use the grant.
 */
const SECRET_MEMBERS: ReadonlySet<string> = new Set(['GrantToken']);

/**
 * The request body could not be deserialized into the operation's input: not a JSON object,
 * or a member whose JSON type is not the one the operation's model gives it (a number where a
 * string is expected, an object for a list…). AWS's JSON 1.1 services deserialize the body
 * before they validate it, and answer this as `SerializationException` (400); values of the
 * right type that break a constraint (length, range, enum, pattern) are ValidationException.
 * The wire handler maps this class; its message never echoes a value.
 */
export class SerializationError extends CipherlakeError {
  readonly userError = true;

  constructor(message = START_OF_MAP) {
    super(message);
  }
}

// The deserializer's words. Measured by emulators' authors against real Coral-based JSON services
// (Athena, Kinesis, SES v2, DynamoDB: see test/kms/wire-types.test.ts for the sources); KMS answers
// with the same exception class, but its exact wording of each case was not measured.
const START_OF_LIST = 'Start of list found where not expected';
const START_OF_MAP = 'Start of structure or map found where not expected.';

/** A member's model type, as the deserializer names it ("an Boolean" is Coral's own spelling; "a Blob" is ours, unmeasured). */
type ModelType = 'a String' | 'an Integer' | 'an Boolean' | 'a Blob';

/** The SerializationError for `value` (not null) found where a scalar of `expected` type belongs. */
function scalarMismatch(value: unknown, expected: ModelType): SerializationError {
  if (Array.isArray(value)) return new SerializationError(START_OF_LIST);
  if (typeof value === 'object') return new SerializationError(START_OF_MAP);
  const kind = value === true ? 'TRUE_VALUE' : value === false ? 'FALSE_VALUE' : typeof value === 'number' ? 'NUMBER_VALUE' : 'STRING_VALUE';
  return new SerializationError(`${kind} can not be converted to ${expected}`);
}

/** The SerializationError for `value` (not null) found where a list belongs. */
function listMismatch(value: unknown): SerializationError {
  return new SerializationError(typeof value === 'object' ? START_OF_MAP : 'Expected list or null');
}

/** The SerializationError for `value` (not null) found where a map or structure belongs. */
function mapMismatch(value: unknown): SerializationError {
  return new SerializationError(Array.isArray(value) ? START_OF_LIST : 'Expected null');
}

/**
 * The deserialization failure in an encryption context, if it has one: not a map, or a value
 * that is not a string (a null value included, as a dense map has none). Undefined when the
 * context deserializes and only a constraint (empty key, lone surrogate) is broken.
 */
function contextMismatch(value: unknown): SerializationError | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return mapMismatch(value);
  for (const k in value) {
    if (!Object.hasOwn(value, k)) continue;
    const v: unknown = (value as Record<string, unknown>)[k];
    // Smithy's malformed-map protocol test: a null value in a dense map is a SerializationException (the wording is ours).
    if (v === null) return new SerializationError('Null value found in a map where not expected');
    if (typeof v !== 'string') return scalarMismatch(v, 'a String');
  }
  return undefined;
}

/** A key identifier's length bounds: one shared object, as every crypto request reads one. */
const KEY_ID_LENGTH = Object.freeze({ min: 1, max: 2048 });

// Hoisted: a pattern literal in #blob would build a RegExp object per blob read (Decrypt reads one per request).
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Typed reads of a KMS JSON request's fields. A member of the wrong JSON type raises
 * SerializationError (AWS's SerializationException); a member of the right type that breaks
 * a constraint raises ValidationError with AWS's wording. An explicit null is read as absent,
 * as AWS does, so a required member set to null is the missing-member ValidationError.
 * Plaintext-bearing fields are read with `blob`, whose errors never echo the value.
 */
export class Fields {
  /**
   * `typesOnly`: constraint violations are not raised, only wrong JSON types, so that a parse
   * reads every member (see `firstTypeError`). The values it returns then break their
   * constraints and types: such a parse serves only to find a SerializationError.
   */
  constructor(
    private readonly body: JsonObject,
    private readonly typesOnly = false,
  ) {}

  /** Raises the constraint violation, except in types-only mode (where the caller goes on). */
  #fail(err: ValidationError): never {
    if (this.typesOnly) return undefined as never;
    throw err;
  }

  /**
   * Raises `err`, a constraint broken by a member its caller checked itself (a tag's length, a
   * grant constraint's size); in types-only mode it returns instead, and the caller goes on
   * with the value so that the members read after it are type-checked too.
   */
  violation(err: ValidationError): void {
    this.#fail(err);
  }

  has(name: string): boolean {
    return this.body[name] !== undefined && this.body[name] !== null;
  }

  string(name: string, opts: { min?: number; max?: number } = {}): string | undefined {
    const v = this.body[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw scalarMismatch(v, 'a String');
    if (opts.min !== undefined && v.length < opts.min) this.#fail(constraintError(name, v, `Member must have length greater than or equal to ${opts.min}`));
    if (opts.max !== undefined && v.length > opts.max) this.#fail(constraintError(name, v, `Member must have length less than or equal to ${opts.max}`));
    return v;
  }

  requiredString(name: string, opts: { min?: number; max?: number } = {}): string {
    const v = this.string(name, opts.min === undefined ? { min: 1, ...opts } : opts);
    if (v === undefined) this.#fail(constraintError(name, v, 'Member must not be null'));
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
    if (!(allowed as readonly string[]).includes(v)) this.#fail(constraintError(name, v, `Member must satisfy enum value set: [${allowed.join(', ')}]`));
    return v as T;
  }

  integer(name: string, min: number, max: number): number | undefined {
    const v = this.body[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number') throw scalarMismatch(v, 'an Integer');
    // A fraction is a number, the right JSON type: refused as a value, not as a type. (Athena,
    // measured, truncates it and accepts; KMS was not measured, so we keep refusing it.)
    if (!Number.isInteger(v)) this.#fail(new ValidationError(`Value for '${lowerFirst(name)}' must be an integer`));
    if (v < min) this.#fail(constraintError(name, v, `Member must have value greater than or equal to ${min}`));
    if (v > max) this.#fail(constraintError(name, v, `Member must have value less than or equal to ${max}`));
    return v;
  }

  boolean(name: string): boolean | undefined {
    const v = this.body[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') throw scalarMismatch(v, 'an Boolean');
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
      if (required) this.#fail(constraintError(name, undefined, 'Member must not be null'));
      return undefined;
    }
    if (typeof v !== 'string') throw scalarMismatch(v, 'a Blob');
    // Not base64 is a deserialization failure too: Smithy's malformed-blob protocol test (restJson1)
    // and local-kms (nsmithuk/local-kms#5) say so; the wording is ours.
    if (!BASE64.test(v)) throw new SerializationError(`Value for '${lowerFirst(name)}' is not valid base64-encoded binary data`);
    const bytes = Buffer.from(v, 'base64');
    const min = opts.min ?? 1;
    if (bytes.length < min) this.#fail(new ValidationError(`1 validation error detected: Value at '${lowerFirst(name)}' failed to satisfy constraint: Member must have length greater than or equal to ${min}`));
    if (opts.max !== undefined && bytes.length > opts.max) {
      this.#fail(new ValidationError(`1 validation error detected: Value at '${lowerFirst(name)}' failed to satisfy constraint: Member must have length less than or equal to ${opts.max}`));
    }
    return bytes;
  }

  /** An encryption context: SerializationError when it is not a map of strings, ValidationError for a broken constraint. */
  context(name = 'EncryptionContext'): EncryptionContext | undefined {
    const v = this.body[name];
    try {
      return validateContext(v, name);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      // Told apart only once validateContext refused: the accepted path (every Encrypt and Decrypt) walks the map once.
      const mismatch = contextMismatch(v);
      if (mismatch !== undefined) throw mismatch;
      return this.#fail(err);
    }
  }

  stringList(name: string, opts: { max?: number } = {}): string[] | undefined {
    const v = this.body[name];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) throw listMismatch(v);
    // A null element is dropped, not refused: Athena's deserializer does so (measured); KMS's was not.
    const items = v.includes(null) ? v.filter((x) => x !== null) : v;
    const wrong = items.find((x) => typeof x !== 'string');
    if (wrong !== undefined) throw scalarMismatch(wrong, 'a String');
    if (opts.max !== undefined && items.length > opts.max) this.#fail(constraintError(name, `[${items.length} items]`, `Member must have length less than or equal to ${opts.max}`));
    return items as string[];
  }

  /**
   * A structure member, as Fields over its members (in this Fields' mode); undefined when absent
   * or null. Raises SerializationError when it is not a JSON object.
   */
  structure(name: string): Fields | undefined {
    const v = this.body[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) throw mapMismatch(v);
    return new Fields(v as JsonObject, this.typesOnly);
  }

  /**
   * A list of structures (such as Tags), each as Fields over its members; undefined when absent
   * or null. A null element is dropped, as `stringList` drops one. Raises SerializationError
   * when it is not a list, or an element is not a JSON object.
   */
  structureList(name: string): Fields[] | undefined {
    const v = this.body[name];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) throw listMismatch(v);
    const items: unknown[] = v.includes(null) ? v.filter((x) => x !== null) : v;
    const wrong = items.find((x) => typeof x !== 'object' || Array.isArray(x));
    if (wrong !== undefined) throw mapMismatch(wrong);
    return items.map((x) => new Fields(x as JsonObject, this.typesOnly));
  }

  /** The names of the members present (null ones included), in the body's order. */
  memberNames(): string[] {
    return Object.keys(this.body);
  }

  raw(name: string): unknown {
    return this.body[name];
  }
}

/**
 * The wrong JSON type a request holds behind an error its parse raised first, if any. AWS
 * deserializes the whole body before it validates anything, so a member of the wrong type
 * anywhere wins over a broken constraint, whatever order `parse` reads the members in. Runs
 * `parse` again over a types-only Fields; returns the SerializationError it raises, undefined
 * when it raises none or fails otherwise. Never throws; meant for the failure path only.
 */
export function typeErrorBehind(body: JsonObject, parse: (fields: Fields) => unknown): SerializationError | undefined {
  try {
    parse(new Fields(body, true));
  } catch (err) {
    if (err instanceof SerializationError) return err;
  }
  return undefined;
}

/** Seconds since the epoch, as KMS writes timestamps. */
export function epochSeconds(d: Date): number {
  return d.getTime() / 1000;
}
