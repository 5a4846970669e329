import { createHmac, timingSafeEqual } from 'node:crypto';
import { AuthenticationError } from '../errors.js';
import type { CredentialLookup } from '../principals.js';
import type { ParsedSignature } from './parse.js';
import { deriveSigningKey, type VerifiedRequest } from './verify.js';

/** The SigV4 fields of a POST Object form (browser upload), as sent (names already matched case-insensitively). */
export interface PostPolicySignature {
  /** `<access key id>/<YYYYMMDD>/<region>/<service>/aws4_request` (x-amz-credential). */
  readonly credential: string;
  /** x-amz-date, ISO 8601 basic (YYYYMMDDTHHMMSSZ). */
  readonly amzDate: string;
  /** x-amz-signature, lower-case hex. */
  readonly signature: string;
  /** The policy field exactly as received (base64): the string that was signed. */
  readonly policy: string;
  /** x-amz-security-token, for temporary credentials. */
  readonly securityToken?: string;
}

/** A POST form's x-amz-credential split into its scope; raises PostCredentialError when it is not one. */
export function parsePostCredential(credential: string): { accessKeyId: string; date: string; region: string; service: string } {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request' || parts.some((p) => p === '')) {
    throw new PostCredentialError('the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".');
  }
  const [accessKeyId, date, region, service] = parts as [string, string, string, string, string];
  if (!/^\d{8}$/.test(date)) throw new PostCredentialError(`incorrect date format "${date.slice(0, 16)}". This date in the credential must be in the format "yyyyMMdd".`);
  if (service !== 's3') throw new PostCredentialError(`incorrect service "${service.slice(0, 64)}". This endpoint belongs to "s3".`);
  return { accessKeyId, date, region, service };
}

/**
 * A POST form's credential or date that cannot be used (S3 answers InvalidArgument naming the
 * field); the message holds no secret (the access key id is not secret).
 */
export class PostCredentialError extends AuthenticationError {
  constructor(message: string) {
    super('IncompleteSignature', message);
  }
}

/**
 * Verifies the signature of a POST Object policy: hex(HMAC-SHA256(signing key of the
 * credential's scope, the base64 policy as received)), compared in constant time
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-authentication-HTTPPOST.html).
 * The caller has already checked the scope's region, and awaited `credentials.prepare` for
 * an access key kept in a store. Checks a session token like a header signature does, and that
 * x-amz-date is on the credential's day (SignatureMismatch, as for a header signature). Does
 * not check the policy's expiration or conditions (S3's part). Raises AuthenticationError
 * (UnknownAccessKey, InvalidToken, SignatureMismatch) and PostCredentialError; never reveals
 * the expected signature.
 */
export function verifyPostPolicySignature(form: PostPolicySignature, credentials: CredentialLookup, now: Date): VerifiedRequest {
  const scope = parsePostCredential(form.credential);
  if (!/^\d{8}T\d{6}Z$/.test(form.amzDate)) throw new PostCredentialError('X-Amz-Date must be formated via ISO8601 Long format');
  // "It is the same date that you used in creating the signing key" (S3's POST authentication page), as a header signature's.
  if (!form.amzDate.startsWith(scope.date)) {
    throw new AuthenticationError('SignatureMismatch', `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scope.date}' != '${form.amzDate.slice(0, 8)}'`);
  }
  const credential = credentials.find(scope.accessKeyId);
  if (credential === undefined) throw new AuthenticationError('UnknownAccessKey', 'The AWS Access Key Id you provided does not exist in our records.');
  checkToken(credential.sessionToken, credential.expiresAt, form.securityToken, now);
  const signingKey = deriveSigningKey(credential, scope.date, scope.region, scope.service);
  const expected = createHmac('sha256', signingKey).update(form.policy, 'utf8').digest();
  const given = /^[0-9a-f]{64}$/.test(form.signature) ? Buffer.from(form.signature, 'hex') : Buffer.alloc(0);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new AuthenticationError('SignatureMismatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
  }
  const signature: ParsedSignature = {
    accessKeyId: scope.accessKeyId,
    date: scope.date,
    region: scope.region,
    service: scope.service,
    signedHeaders: [],
    signature: form.signature,
    amzDate: form.amzDate,
    presigned: false,
    ...(form.securityToken !== undefined ? { securityToken: form.securityToken } : {}),
  };
  // The form's body is not signed (only the policy is): the file is UNSIGNED-PAYLOAD.
  return { credential, signature, payloadHash: 'UNSIGNED-PAYLOAD', signingKey };
}

function checkToken(expectedToken: string | undefined, expiresAt: Date | undefined, given: string | undefined, now: Date): void {
  if (expectedToken === undefined) {
    if (given !== undefined && given !== '') throw new AuthenticationError('InvalidToken', 'The security token included in the request is invalid.');
    return;
  }
  const a = Buffer.from(given ?? '');
  const b = Buffer.from(expectedToken);
  if (a.length !== b.length || !timingSafeEqual(a, b)) throw new AuthenticationError('InvalidToken', 'The security token included in the request is invalid.');
  if (expiresAt !== undefined && now.getTime() >= expiresAt.getTime()) throw new AuthenticationError('InvalidToken', 'The security token included in the request is expired');
}
