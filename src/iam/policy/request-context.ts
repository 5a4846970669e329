/**
 * The request being authorized, and its normalized form. Condition keys are looked up
 * case-insensitively, as AWS does, so the normalized form keys its map by lower case.
 */

/** A condition key's value: one string, several (multi-valued keys), or absent. */
export type ContextValue = string | readonly string[] | undefined;

/** Who is calling, as authentication established it. */
export interface RequestPrincipal {
  readonly type: 'Account' | 'User' | 'AssumedRole' | 'FederatedUser' | 'Service' | 'Anonymous';
  /** e.g. `arn:aws:iam::111122223333:user/alice`; absent for anonymous and service callers. */
  readonly arn?: string;
  /** The twelve-digit account id; absent for anonymous callers. */
  readonly account?: string;
  readonly username?: string;
  readonly userid?: string;
  /** For an assumed-role session: the role's ARN, which resource policies name. */
  readonly roleArn?: string;
  /** For a service principal, e.g. `s3.amazonaws.com`. */
  readonly service?: string;
  /** For web-identity / SAML federation: the provider the trust policy names. */
  readonly federatedProvider?: string;
  readonly canonicalUserId?: string;
  /** The caller's own tags (an IAM user's, a session's role's), fed as aws:PrincipalTag/<key>. */
  readonly tags?: Readonly<Record<string, string>>;
}

/** What is being asked: who, which action on which resource, with which condition keys. */
export interface RequestContext {
  readonly principal: RequestPrincipal;
  /** `service:Action`, e.g. `kms:Decrypt`; matched case-insensitively. */
  readonly action: string;
  /** The resource ARN, or `*` for actions without resource-level permissions. */
  readonly resource: string;
  /** The account that owns the resource; differs from the principal's for cross-account calls. */
  readonly resourceAccount?: string;
  /** Condition keys → values; names are case-insensitive. */
  readonly context?: Readonly<Record<string, ContextValue>>;
  /** The request time for aws:CurrentTime / aws:EpochTime; defaults to now. */
  readonly time?: Date;
}

/** A request ready for evaluation: lower-cased action and condition-key names. */
export interface PreparedRequest {
  readonly principal: RequestPrincipal;
  readonly action: string;
  readonly resource: string;
  readonly values: ReadonlyMap<string, string | readonly string[]>;
}

/** The lower-cased prefix of aws:PrincipalTag/<key>: only the principal's own tags may fill it. */
const PRINCIPAL_TAG_PREFIX = 'aws:principaltag/';

function principalKeys(p: RequestPrincipal): Array<[string, string | undefined]> {
  const keys: Array<[string, string | undefined]> = [
    ['aws:username', p.type === 'User' ? p.username : undefined],
    ['aws:userid', p.userid],
    ['aws:principalaccount', p.account],
    ['aws:principalarn', p.type === 'AssumedRole' ? (p.roleArn ?? p.arn) : p.arn],
    ['aws:principaltype', p.type],
    ['aws:principalservicename', p.type === 'Service' ? p.service : undefined],
  ];
  // Tag keys are case-insensitive on IAM (a user cannot carry both `Team` and `team`), as
  // condition key names are, so the lower-cased key is the whole name.
  if (p.tags !== undefined) for (const [k, v] of Object.entries(p.tags)) keys.push([PRINCIPAL_TAG_PREFIX + k.toLowerCase(), v]);
  return keys;
}

/**
 * Normalizes a request: lower-cases key names, drops absent values, and adds the keys
 * AWS derives from the principal (aws:username, aws:userid, aws:PrincipalAccount,
 * aws:PrincipalArn, aws:PrincipalType, aws:PrincipalServiceName, aws:PrincipalTag/<key>;
 * a context value under an aws:PrincipalTag/ name is dropped) and from the time
 * (aws:CurrentTime, aws:EpochTime, unless given). Principal-derived keys win over
 * caller-supplied ones so a request value cannot impersonate. Never throws.
 * The condition-key map is built on first use of `values`: most requests meet no condition
 * and no policy variable (every S3 request prepares one, with about fifteen keys), so they
 * never pay for it. The time is taken now all the same, and `request.context` must not
 * change while the prepared request is in use (callers build it per request).
 */
export function prepareRequest(request: RequestContext): PreparedRequest {
  return new LazyPreparedRequest(request, request.time ?? new Date());
}

/** A PreparedRequest whose condition-key map is built on first read (see prepareRequest). */
class LazyPreparedRequest implements PreparedRequest {
  readonly principal: RequestPrincipal;
  readonly action: string;
  readonly resource: string;
  readonly #context: Readonly<Record<string, ContextValue>> | undefined;
  readonly #time: Date;
  #values: ReadonlyMap<string, string | readonly string[]> | undefined;

  constructor(request: RequestContext, time: Date) {
    this.principal = request.principal;
    this.action = request.action.toLowerCase();
    this.resource = request.resource;
    this.#context = request.context;
    this.#time = time;
  }

  get values(): ReadonlyMap<string, string | readonly string[]> {
    this.#values ??= conditionValues(this.#context, this.principal, this.#time);
    return this.#values;
  }
}

function conditionValues(context: Readonly<Record<string, ContextValue>> | undefined, principal: RequestPrincipal, time: Date): Map<string, string | readonly string[]> {
  const values = new Map<string, string | readonly string[]>();
  for (const [key, value] of Object.entries(context ?? {})) {
    const lower = key.toLowerCase();
    // aws:PrincipalTag/… comes from the principal alone, like the other principal keys.
    if (value !== undefined && !lower.startsWith(PRINCIPAL_TAG_PREFIX)) values.set(lower, value);
  }
  for (const [key, value] of principalKeys(principal)) {
    if (value !== undefined) values.set(key, value);
    else values.delete(key);
  }
  if (!values.has('aws:currenttime')) values.set('aws:currenttime', time.toISOString());
  if (!values.has('aws:epochtime')) values.set('aws:epochtime', String(Math.floor(time.getTime() / 1000)));
  return values;
}
