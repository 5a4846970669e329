import { AuthenticationError } from '../errors.js';
import type { ParsedSignature } from './parse.js';

/**
 * The region AWS's global endpoints are signed for: IAM (iam.amazonaws.com) and STS's global
 * endpoint (sts.amazonaws.com) accept only it. The AWS CLI and SDKs sign for the client's own
 * region when given an endpoint URL, so IAM and STS here accept both it and ours.
 */
export const GLOBAL_SIGNING_REGION = 'us-east-1';

/** A client-given region is echoed back in the refusal; this bounds how much of it. */
const MAX_ECHOED_REGION = 64;

/**
 * The request's credential scope names a region other than the server's. A SignatureMismatch
 * (the JSON protocols' InvalidSignatureException, the Query protocols' SignatureDoesNotMatch,
 * with AWS's "Credential should be scoped to a valid region" message); S3 maps it to
 * AuthorizationHeaderMalformed or, presigned, AuthorizationQueryParametersError, naming
 * `expectedRegion` so that clients can retry there. The region is not secret.
 */
export class CredentialScopeRegionError extends AuthenticationError {
  /** The region the request was signed for (at most 64 characters of it). */
  readonly region: string;
  /** The region this server serves. */
  readonly expectedRegion: string;
  /** Whether the scope came from a presigned URL's X-Amz-Credential (else the Authorization header). */
  readonly presigned: boolean;

  constructor(region: string, expectedRegion: string, presigned: boolean) {
    const given = region.slice(0, MAX_ECHOED_REGION);
    super('SignatureMismatch', `Credential should be scoped to a valid region, not '${given}'. `);
    this.region = given;
    this.expectedRegion = expectedRegion;
    this.presigned = presigned;
  }
}

/**
 * Checks a signature's credential scope region against the server's `region`: returns
 * undefined when it is ours (or, for a scope naming `iam` or `sts`, the global signing
 * region), else the CredentialScopeRegionError to answer with. A string comparison first,
 * so the hot path (the right region) allocates nothing; never throws.
 */
export function scopeRegionError(sig: ParsedSignature, region: string): CredentialScopeRegionError | undefined {
  if (sig.region === region) return undefined;
  if (sig.region === GLOBAL_SIGNING_REGION && (sig.service === 'iam' || sig.service === 'sts')) return undefined;
  return new CredentialScopeRegionError(sig.region, region, sig.presigned);
}
