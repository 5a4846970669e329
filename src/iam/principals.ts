/**
 * Who made a request, once authenticated. Matches the shape CloudTrail's userIdentity and
 * IAM policy evaluation need.
 */
export interface Principal {
  readonly type: 'Root' | 'IAMUser' | 'AssumedRole' | 'AWSService' | 'Anonymous';
  readonly arn: string;
  readonly accountId: string;
  /** IAM unique id (AIDA…/AROA…:session); the account id for root. */
  readonly principalId: string;
  readonly userName?: string;
  /** For an assumed-role session: the role's ARN (what trust, key and bucket policies name). */
  readonly roleArn?: string;
  /** For an assumed-role session: the RoleSessionName. */
  readonly sessionName?: string;
  /**
   * The caller's own tags, key → value, for aws:PrincipalTag/<key>: an IAM user's, or the
   * role's for an assumed-role session (session tags are not supported). Loaded with the
   * credential and cached with it; absent for other principals. Never recorded in audit.
   */
  readonly tags?: Readonly<Record<string, string>>;
}

/** A credential the server knows: what a SigV4 signature is checked against. */
export interface Credential {
  readonly accessKeyId: string;
  /** The secret, held only to derive signing keys; never logged. */
  readonly secretAccessKey: string;
  readonly principal: Principal;
  /** Set for temporary credentials: the request must carry this token. */
  readonly sessionToken?: string;
  readonly expiresAt?: Date;
}

/** Looks credentials up by access key id. Implementations: root credentials, IAM users, STS. */
export interface CredentialLookup {
  /** The active credential for this access key id, or undefined if unknown or inactive. */
  find(accessKeyId: string): Credential | undefined;
  /**
   * Optional: loads what `find` will need for this access key id from slower storage (the
   * IAM store) before the synchronous signature check. Never throws for an unknown id; the
   * edge awaits it once per signed request.
   */
  prepare?(accessKeyId: string): Promise<void>;
  /**
   * Optional: whether `find`'s answer for this key is what the slower storage holds now. The
   * edge asks at a request's first look and calls `prepare` when it says false; `find` later in
   * the same request answers what that prepared.
   */
  current?(accessKeyId: string): boolean;
}

/** The principal of an unsigned request. */
export const ANONYMOUS: Principal = { type: 'Anonymous', arn: '*', accountId: '', principalId: 'anonymous' };
