/**
 * The POST policy of a browser upload: its document (base64 JSON with `expiration` and
 * `conditions`) and the check of a form against it. Pure: no I/O, no clock of its own.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
 * Messages follow S3's answers as recorded against it (LocalStack's validated POST tests,
 * ceph s3-tests, and captures in client issue trackers).
 */
import { AccessDeniedError, InvalidPolicyDocumentError } from '../../errors.js';
import type { PostField } from './post-form.js';

/** One condition of a policy, names lower-cased; `text` is how S3 prints it when it fails. */
export type PolicyCondition =
  | { readonly op: 'eq' | 'starts-with'; readonly field: string; readonly value: string; readonly text: string }
  | { readonly op: 'content-length-range'; readonly min: number; readonly max: number; readonly text: string }
  /** A condition S3 parses but that can never hold (a field named without `$`, a range that is not numbers). */
  | { readonly op: 'never'; readonly text: string };

/** A parsed POST policy. */
export interface PostPolicy {
  readonly expiration: Date;
  readonly conditions: readonly PolicyCondition[];
}

/** The content-length-range a policy sets (inclusive bounds); undefined when it sets none. */
export interface LengthRange {
  readonly min: number;
  readonly max: number;
}

/** Fields the coverage rule exempts: "except x-amz-signature, file, policy, and field names that have an x-ignore- prefix". */
const EXEMPT = new Set(['x-amz-signature', 'file', 'policy']);

const EXPIRATION = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function invalid(reason: string): InvalidPolicyDocumentError {
  return new InvalidPolicyDocumentError(`Invalid Policy: ${reason}`);
}

/**
 * Parses the policy field (base64 JSON). Raises InvalidPolicyDocumentError with S3's
 * "Invalid Policy: ..." message for bad base64 or JSON, an unexpected member, a missing or
 * unreadable expiration, missing or non-list conditions, and a malformed condition.
 */
export function parsePostPolicy(policyBase64: string): PostPolicy {
  const compact = policyBase64.replace(/\s+/g, '');
  if (!BASE64.test(compact) || compact.length % 4 === 1) throw invalid('invalid Base64 encoding.');
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(compact, 'base64').toString('utf8'));
  } catch {
    throw invalid('Invalid JSON.');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalid('Invalid JSON.');
  const members = doc as Record<string, unknown>;
  for (const name of Object.keys(members)) {
    if (name !== 'expiration' && name !== 'conditions') throw invalid(`Unexpected: '${name.toLowerCase().slice(0, 64)}'`);
  }
  const expiration = members['expiration'];
  if (expiration === undefined) throw invalid('Policy missing expiration.');
  if (typeof expiration !== 'string' || !EXPIRATION.test(expiration) || Number.isNaN(Date.parse(expiration))) {
    throw invalid(`Invalid 'expiration' value: '${String(expiration).slice(0, 64)}'`);
  }
  const conditions = members['conditions'];
  if (conditions === undefined) throw invalid('Policy missing conditions.');
  if (!Array.isArray(conditions)) throw invalid("Invalid 'conditions' value: must be a List.");
  return { expiration: new Date(expiration), conditions: conditions.map(parseCondition) };
}

function parseCondition(c: unknown): PolicyCondition {
  if (Array.isArray(c)) return parseListCondition(c as unknown[]);
  if (typeof c !== 'object' || c === null) throw invalid('Invalid condition test: must be a List or Object.');
  const entries = Object.entries(c as Record<string, unknown>);
  if (entries.length !== 1) throw invalid('Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.');
  const [name, value] = entries[0]!;
  if (value === null) throw invalid('Invalid JSON.');
  if (typeof value !== 'string') throw invalid('Invalid Simple-Condition: value must be a string.');
  // S3 prints a simple condition as the eq it stands for.
  return { op: 'eq', field: name.toLowerCase(), value, text: printed(['eq', `$${name}`, value], name.toLowerCase()) };
}

function parseListCondition(c: unknown[]): PolicyCondition {
  const op = c[0];
  if (op === undefined) throw invalid('Invalid Condition: missing operation identifier.');
  if (typeof op !== 'string') throw invalid('Invalid JSON.');
  const name = op.toLowerCase();
  if (name !== 'eq' && name !== 'starts-with' && name !== 'content-length-range') throw invalid(`Invalid Condition: unknown operation '${op.slice(0, 64)}'.`);
  if (c.length !== 3) throw invalid(`Invalid ${op.slice(0, 64)}: wrong number of arguments.`);
  if (name === 'content-length-range') return lengthRange(c[1], c[2], printed(c, ''));
  const [, field, value] = c;
  if (typeof field !== 'string' || typeof value !== 'string') throw invalid('Invalid JSON.');
  const text = printed(c, field.replace(/^\$/, '').toLowerCase());
  // A field named without its `$` is parsed, and fails (as S3 answers it: 403, not 400).
  if (!field.startsWith('$')) return { op: 'never', text };
  return { op: name, field: field.slice(1).toLowerCase(), value, text };
}

/** A content-length-range: integers or strings of digits (S3 takes both); a fraction is not JSON S3 reads. */
function lengthRange(min: unknown, max: unknown, text: string): PolicyCondition {
  const bound = (v: unknown): number | 'never' => {
    if (typeof v === 'number') {
      if (!Number.isInteger(v)) throw invalid('Invalid JSON.');
      if (v < 0) throw invalid('Invalid content-length-range: bounds must not be negative.');
      return v;
    }
    if (typeof v === 'string') return /^\d{1,15}$/.test(v) ? Number(v) : 'never';
    throw invalid('Invalid JSON.');
  };
  const lo = bound(min);
  const hi = bound(max);
  return lo === 'never' || hi === 'never' ? { op: 'never', text } : { op: 'content-length-range', min: lo, max: hi, text };
}

/**
 * Fields whose value is a secret (an SSE-C key, its MD5, a session token): a failed condition on one
 * is printed without its value, which S3 would echo. Error messages reach the client, the
 * log and the audit record, and none of them may hold a key or a credential (nor the key's
 * fingerprint, which no record holds either: see edge-s3-params).
 */
const SECRET_FIELDS: readonly string[] = ['x-amz-server-side-encryption-customer-key', 'x-amz-security-token'];

/**
 * Whether a condition's field names a secret, however it is spelled: the name is compared with
 * case, whitespace and every character but letters and digits removed, and a name that merely
 * contains a secret field's name counts (`customer-key-MD5`, a trailing space, `$ x-amz-…`,
 * `x_amz_security_token`). Such a field never matches a form field, so its condition fails and
 * would be printed; erring towards hiding costs only a value the sender wrote.
 */
function namesSecret(field: string): boolean {
  const squeezed = field.toLowerCase().replace(/[^a-z0-9]/g, '');
  return SECRET_FIELDS.some((secret) => squeezed.includes(secret.replace(/-/g, '')));
}

/** A condition on `field` as S3 prints it in "Policy Condition failed: ...": a JSON array with ", " between items (a secret's value elided). */
function printed(items: readonly unknown[], field: string): string {
  const shown = namesSecret(field) ? items.map((v, i) => (i === 2 ? '[value not shown]' : v)) : items;
  return `[${shown.map((i) => JSON.stringify(i)).join(', ')}]`;
}

/**
 * Checks a form against its parsed policy at `now`: the expiration (AccessDenied "Invalid
 * according to Policy: Policy expired."), each condition (AccessDenied "... Policy Condition
 * failed: <condition>"; a condition on a field the form lacks fails), and that every field
 * but the exempt ones is named by a condition (AccessDenied "... Extra input fields: <name as
 * sent>"). `bucket` is the bucket the request addressed: the value `bucket` conditions are
 * checked against. Returns the content-length-range to enforce on the file (the narrowest
 * when there are several). Raises only AccessDeniedError.
 */
export function checkPostPolicy(policy: PostPolicy, fields: ReadonlyMap<string, PostField>, bucket: string, now: Date): LengthRange | undefined {
  if (now.getTime() >= policy.expiration.getTime()) throw new AccessDeniedError('Invalid according to Policy: Policy expired.');
  const covered = new Set<string>();
  let range: LengthRange | undefined;
  for (const c of policy.conditions) {
    switch (c.op) {
      case 'never':
        throw failed(c.text);
      case 'content-length-range':
        range = range === undefined ? { min: c.min, max: c.max } : { min: Math.max(range.min, c.min), max: Math.min(range.max, c.max) };
        break;
      case 'eq':
      case 'starts-with': {
        covered.add(c.field);
        const value = c.field === 'bucket' ? bucket : fields.get(c.field)?.value;
        if (value === undefined || !holds(c.op, c.field, value, c.value)) throw failed(c.text);
        break;
      }
      default: {
        const never: never = c;
        return never;
      }
    }
  }
  const extra = [...fields.entries()].filter(([name]) => !EXEMPT.has(name) && !name.startsWith('x-ignore-') && !covered.has(name)).map(([, f]) => f.name);
  if (extra.length > 0) throw new AccessDeniedError(`Invalid according to Policy: Extra input fields: ${extra.join(', ')}`);
  return range;
}

function failed(text: string): AccessDeniedError {
  return new AccessDeniedError(`Invalid according to Policy: Policy Condition failed: ${text}`);
}

/** eq compares exactly; starts-with on Content-Type holds for each item of a comma-separated list, as S3 documents. */
function holds(op: 'eq' | 'starts-with', field: string, value: string, expected: string): boolean {
  if (op === 'eq') return value === expected;
  if (field === 'content-type') return value.split(',').every((v) => v.startsWith(expected));
  return value.startsWith(expected);
}
