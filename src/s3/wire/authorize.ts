/**
 * The S3 authorization point: from a parsed, authenticated request to an IAM decision
 * (identity ∧ bucket policy ∧ endpoint policy) with S3's condition keys. Wire-level only
 * in reading headers and query parameters; the decision itself is IAM's.
 */
import type { IncomingMessage } from 'node:http';
import { ANONYMOUS, type AccessDecision, type AuthzCall, type ConditionFacts, type ParsedSignature, type VerifiedRequest } from '../../iam/index.js';
import type { Policy } from '../../iam/policy/index.js';
import type { CallContext } from '../../kms/index.js';
import { AccessDeniedError } from '../errors.js';
import { bucketPolicyFor } from '../operations/bucket-access.js';
import type { S3Deps } from '../s3-deps.js';
import { firstHeader } from './headers/first-header.js';

/** IAM's access control as S3 needs it (AccessControl implements it). */
export interface S3Authorizer {
  /** Identity ∧ bucket ∧ endpoint policy for one action on one resource; logs denials with their reason. */
  authorizeS3(call: AuthzCall, action: string, resourceArn: string, facts: ConditionFacts, bucketPolicy?: Policy): Promise<AccessDecision>;
}

/** The ARN S3 policies name: the bucket, an object in it, or all of S3 at service level. */
export function s3ResourceArn(bucket: string, key: string): string {
  if (bucket === '') return 'arn:aws:s3:::*';
  return key === '' ? `arn:aws:s3:::${bucket}` : `arn:aws:s3:::${bucket}/${key}`;
}

/**
 * S3's request condition keys: the SSE headers, the canned ACL, the copy source, the
 * listing parameters (s3:prefix, s3:delimiter, s3:max-keys) and how the request was
 * signed. Keys the request does not carry are absent (so `...IfExists` and Null work).
 */
export function s3RequestFacts(req: Pick<IncomingMessage, 'headers'>, query: ReadonlyMap<string, string>, signature: ParsedSignature | undefined): ConditionFacts {
  // Built by assignment of the present keys only (once per request: no entries/filter/fromEntries copies).
  const facts: Record<string, string> = {};
  for (const [fact, name] of HEADER_FACTS) {
    const v = firstHeader(req.headers, name);
    if (v !== undefined) facts[fact] = v;
  }
  for (const [fact, name] of QUERY_FACTS) {
    const v = query.get(name);
    if (v !== undefined) facts[fact] = v;
  }
  for (const [fact, name] of CONDITIONAL_FACTS) {
    const v = firstHeader(req.headers, name);
    if (v !== undefined) facts[fact] = v;
  }
  if (signature !== undefined) {
    facts['s3:signatureversion'] = 'AWS4-HMAC-SHA256';
    facts['s3:authType'] = signature.presigned ? 'REST-QUERY-STRING' : 'REST-HEADER';
  }
  return facts;
}

/** Condition keys read from a request header: the SSE headers, the canned ACL, the copy source and the payload hash. */
const HEADER_FACTS: ReadonlyArray<readonly [string, string]> = [
  ['s3:x-amz-server-side-encryption', 'x-amz-server-side-encryption'],
  ['s3:x-amz-server-side-encryption-aws-kms-key-id', 'x-amz-server-side-encryption-aws-kms-key-id'],
  ['s3:x-amz-server-side-encryption-customer-algorithm', 'x-amz-server-side-encryption-customer-algorithm'],
  ['s3:x-amz-acl', 'x-amz-acl'],
  ['s3:x-amz-copy-source', 'x-amz-copy-source'],
  ['s3:x-amz-content-sha256', 'x-amz-content-sha256'],
];

/** Conditional writes and deletes: a bucket policy can require them ("Null": {"s3:if-none-match": "true"} → Deny). */
const CONDITIONAL_FACTS: ReadonlyArray<readonly [string, string]> = [
  ['s3:if-none-match', 'if-none-match'],
  ['s3:if-match', 'if-match'],
];

/** Condition keys read from the query: the listing parameters. */
const QUERY_FACTS: ReadonlyArray<readonly [string, string]> = [
  ['s3:prefix', 'prefix'],
  ['s3:delimiter', 'delimiter'],
  ['s3:max-keys', 'max-keys'],
];

const ANONYMOUS_SIGNATURE: ParsedSignature = { accessKeyId: '', date: '', region: '', service: 's3', signedHeaders: [], signature: '', amzDate: '', presigned: false };

/**
 * The VerifiedRequest of an unsigned request, when it is one: no Authorization header and
 * no presigned query parameters. Its body is taken as unsigned (a declared SHA-256 is still
 * checked). Returns undefined for a request that tried to sign (its signature decides).
 */
export function anonymousRequest(req: IncomingMessage, query: ReadonlyMap<string, string>): VerifiedRequest | undefined {
  if (req.headers.authorization !== undefined || query.has('X-Amz-Signature') || query.has('X-Amz-Credential') || query.has('X-Amz-Algorithm')) return undefined;
  const declared = firstHeader(req.headers, 'x-amz-content-sha256');
  const payloadHash = declared !== undefined && (/^[0-9a-f]{64}$/.test(declared) || declared === 'STREAMING-UNSIGNED-PAYLOAD-TRAILER') ? declared : 'UNSIGNED-PAYLOAD';
  return anonymousVerified(payloadHash);
}

/**
 * The anonymous caller's VerifiedRequest, whatever the request carries: what a CORS preflight
 * (never authenticated, an Authorization header or presigned query included) is recorded as.
 */
export function anonymousVerified(payloadHash = 'UNSIGNED-PAYLOAD'): VerifiedRequest {
  return { credential: { accessKeyId: '', secretAccessKey: '', principal: ANONYMOUS }, signature: ANONYMOUS_SIGNATURE, payloadHash, signingKey: Buffer.alloc(0) };
}

/**
 * Decides one action on one S3 resource for the caller, with the bucket's policy (public
 * access block applied). Raises AccessDeniedError (the client gets S3's generic message;
 * AccessControl has logged the reason). Raises nothing else for a denial.
 */
export async function authorizeS3Action(
  deps: S3Deps,
  authorizer: S3Authorizer,
  caller: CallContext,
  action: string,
  target: { readonly bucket: string; readonly key: string },
  facts: ConditionFacts,
): Promise<void> {
  // S3's lockout guard: the root user of the bucket owner's account may always get, put and
  // delete the bucket policy, "even if the policy explicitly denies the root user" (PutBucketPolicy):
  // the bucket policy is left out for them; identity and endpoint policies still apply.
  const exempt = caller.principal.type === 'Root' && caller.principal.accountId === deps.accountId && ROOT_POLICY_ACTIONS.has(action);
  const policy = exempt ? undefined : await bucketPolicyFor(deps, target.bucket, caller.principal);
  const decision = await authorizer.authorizeS3(caller, action, s3ResourceArn(target.bucket, target.key), facts, policy);
  if (!decision.allowed) throw new AccessDeniedError('');
}

/** The bucket-policy actions a bucket policy can never deny the owner account's root user. */
const ROOT_POLICY_ACTIONS: ReadonlySet<string> = new Set(['s3:GetBucketPolicy', 's3:PutBucketPolicy', 's3:DeleteBucketPolicy']);

/** Whether x-amz-copy-source names a version (`?versionId=`): S3 then asks s3:GetObjectVersion on the source. */
export function copySourceNamesVersion(req: IncomingMessage): boolean {
  return /[?&]versionId=/.test(String(req.headers['x-amz-copy-source'] ?? ''));
}

/** The source of a CopyObject / UploadPartCopy, or undefined when the header is unusable (the route then answers InvalidArgument). */
export function copySourceOf(req: IncomingMessage): { bucket: string; key: string } | undefined {
  const value = firstHeader(req.headers, 'x-amz-copy-source');
  if (value === undefined) return undefined;
  let path: string;
  try {
    path = decodeURIComponent(value.split('?')[0] ?? '');
  } catch {
    return undefined;
  }
  if (path.startsWith('/')) path = path.slice(1);
  const slash = path.indexOf('/');
  return slash <= 0 || slash === path.length - 1 ? undefined : { bucket: path.slice(0, slash), key: path.slice(slash + 1) };
}
