import type { Logger } from 'pino';
import type { Clock } from '../common/clock.js';
import { accessDeniedMessage, decideAccess, type AccessDecision, type AuthzCall, type ConditionFacts } from './authorizer.js';
import type { IdentityPolicySource } from './identity-policies.js';
import type { Policy } from './policy/index.js';

/** `TLSv1.3` → `1.3`, the form s3:TlsVersion compares numerically. */
export function tlsVersionNumber(tlsVersion: string | undefined): string | undefined {
  const m = tlsVersion === undefined ? null : /^TLSv(\d(?:\.\d)?)$/.exec(tlsVersion);
  return m?.[1] === undefined ? undefined : m[1].includes('.') ? m[1] : `${m[1]}.0`;
}

/**
 * Authorization with I/O: loads the caller's identity policies and decides with the pure
 * functions of authorizer.ts. Every denial is logged at info level with its reason (the
 * client only ever gets AWS's message). Never throws for a denial: callers raise their
 * protocol's AccessDenied error from the decision.
 */
export class AccessControl {
  constructor(
    private readonly deps: { readonly identity: IdentityPolicySource; readonly clock: Clock; readonly log: Logger },
  ) {}

  /** The identity policies of the caller (for callers that combine decisions themselves, like KMS). */
  identityPolicies(call: AuthzCall): Promise<readonly Policy[]> {
    return this.deps.identity.policiesFor(call.principal);
  }

  /**
   * Identity ∧ resource (trust, bucket) ∧ endpoint policy for one action on one resource;
   * with `requireResourceAllow`, a resource policy must allow too (decideAccess).
   */
  async authorize(
    call: AuthzCall, action: string, resource: string, options: { resourcePolicies?: readonly Policy[]; facts?: ConditionFacts; requireResourceAllow?: boolean } = {},
  ): Promise<AccessDecision> {
    const identity = await this.deps.identity.policiesFor(call.principal);
    const decision = decideAccess({ call, action, resource, identity, time: this.deps.clock.now(), ...options });
    if (!decision.allowed) this.logDenial(call, action, resource, decision.reason);
    return decision;
  }

  /**
   * For the S3 part: identity policy ∧ bucket policy ∧ endpoint policy. `facts` carries S3's
   * condition keys (s3:x-amz-server-side-encryption, s3:x-amz-server-side-encryption-aws-kms-key-id,
   * s3:prefix, …); s3:TlsVersion is filled from the channel. Use `deniedMessage` for the client text.
   */
  authorizeS3(call: AuthzCall, action: string, resourceArn: string, facts: ConditionFacts, bucketPolicy?: Policy): Promise<AccessDecision> {
    const tls = tlsVersionNumber(call.tlsVersion);
    return this.authorize(call, action, resourceArn, {
      facts: { ...(tls !== undefined ? { 's3:TlsVersion': tls } : {}), ...facts },
      ...(bucketPolicy !== undefined ? { resourcePolicies: [bucketPolicy] } : {}),
    });
  }

  /** AWS's client message for a denial (see accessDeniedMessage). */
  deniedMessage(call: AuthzCall, action: string, resource: string, decision: AccessDecision): string {
    return decision.allowed ? '' : accessDeniedMessage(call.principal, action, resource, decision.cause);
  }

  /** Logs a denial's reason at info level (never the policy text or any secret). */
  logDenial(call: AuthzCall, action: string, resource: string, reason: string): void {
    this.deps.log.info({ principal: call.principal.arn, action, resource, reason, ...(call.viaService !== undefined ? { viaService: call.viaService } : {}) }, 'access denied');
  }
}
