/**
 * Bucket policies as S3 treats them: validation on PutBucketPolicy, whether a policy is
 * public (GetBucketPolicyStatus, BlockPublicPolicy), and the policy that applies to one
 * caller once RestrictPublicBuckets is taken into account. Pure: no I/O.
 */
import { MalformedPolicyDocumentError, parsePolicy, type Policy, type Statement } from '../../iam/policy/index.js';
import type { Principal } from '../../iam/index.js';
import { MalformedPolicyError } from '../errors.js';
import type { PublicAccessBlock } from './bucket-access-store.js';

/** S3's bucket policy size limit: 20 KB. */
export const MAX_BUCKET_POLICY_BYTES = 20 * 1024;

/**
 * Condition keys that tie a statement to fixed callers or networks: a statement allowing
 * Principal "*" under one of them is not public (AWS's "The meaning of public").
 */
const RESTRICTING_KEYS = new Set([
  'aws:sourceip', 'aws:sourcearn', 'aws:sourcevpc', 'aws:sourcevpce', 'aws:sourceowner', 'aws:sourceaccount',
  'aws:principalarn', 'aws:principalaccount', 'aws:principalorgid', 'aws:userid', 's3:dataaccesspointarn', 's3:dataaccesspointaccount',
]);

function stringsOf(raw: unknown): string[] {
  const list = Array.isArray(raw) ? (raw as unknown[]) : [raw];
  return list.filter((v): v is string => typeof v === 'string');
}

/** S3's extra checks beyond the policy grammar: every resource is this bucket or an object in it. */
function checkResources(json: string, bucket: string): void {
  const doc = JSON.parse(json) as { Statement?: unknown };
  const statements = Array.isArray(doc.Statement) ? (doc.Statement as unknown[]) : [doc.Statement];
  const own = `arn:aws:s3:::${bucket}`;
  for (const s of statements) {
    const st = (s ?? {}) as Record<string, unknown>;
    for (const r of [...stringsOf(st['Resource']), ...stringsOf(st['NotResource'])]) {
      if (r !== own && !r.startsWith(`${own}/`)) throw new MalformedPolicyError('Policy has invalid resource');
    }
    for (const a of [...stringsOf(st['Action']), ...stringsOf(st['NotAction'])]) {
      if (a !== '*' && !a.toLowerCase().startsWith('s3:')) throw new MalformedPolicyError('Policy has invalid action');
    }
  }
}

/**
 * Parses and validates a bucket policy for `bucket` as PutBucketPolicy does: the policy
 * grammar (resource policy: Principal required), at most 20 KB, resources within the
 * bucket, S3 actions only. Raises MalformedPolicyError with a message for the author.
 */
export function parseBucketPolicy(json: string, bucket: string): Policy {
  let policy: Policy;
  try {
    policy = parsePolicy(json, 'resource', { maxBytes: MAX_BUCKET_POLICY_BYTES });
  } catch (err) {
    if (err instanceof MalformedPolicyDocumentError) throw new MalformedPolicyError(err.message, { cause: err });
    throw err;
  }
  checkResources(json, bucket);
  return policy;
}

/** Whether an Allow statement grants everyone (Principal "*" or NotPrincipal) without a restricting condition. */
export function isPublicStatement(s: Statement): boolean {
  if (s.effect !== 'Allow' || s.principal === undefined) return false;
  const everyone = s.principal.negated || s.principal.everyone;
  if (!everyone) return false;
  return !s.conditions.some((c) => !c.negated && RESTRICTING_KEYS.has(c.lowerKey));
}

/** Whether the policy is public (GetBucketPolicyStatus IsPublic). Never throws. */
export function isPublicPolicy(policy: Policy): boolean {
  return policy.statements.some(isPublicStatement);
}

/**
 * The bucket policy that applies to a caller: with RestrictPublicBuckets on, a public
 * policy's public statements do not apply to anonymous callers or callers of another
 * account (denies always stay). Returns the policy unchanged otherwise. Never throws.
 */
export function effectiveBucketPolicy(policy: Policy, block: PublicAccessBlock | undefined, caller: Principal, ownerAccount: string): Policy {
  if (block?.restrictPublicBuckets !== true || !isPublicPolicy(policy)) return policy;
  if (caller.type !== 'Anonymous' && caller.accountId === ownerAccount) return policy;
  return { ...policy, statements: policy.statements.filter((s) => !isPublicStatement(s)) };
}
