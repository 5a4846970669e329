import type { Logger } from 'pino';
import { accessDeniedMessage, decideKmsAccess, encryptionContextFacts, kmsRootAllowedOutright, newConditionFacts, type AccessControl, type AccessDecision, type ConditionFacts, type GrantView } from '../iam/index.js';
import { evaluatePolicy, parsePolicy, type Policy } from '../iam/policy/index.js';
import { AccessDeniedError, NotFoundError } from './errors.js';
import { aliasArn, keyArn, type KeyRecord } from './keys/key-record.js';
import type { KeyService } from './keys/key-service.js';
import type { CallContext } from './kms-context.js';
import type { EncryptionContext } from './encryption-context.js';
import type { KmsAuthorizer } from './wire/handler.js';
import type { KmsRequestFacts } from './wire/route.js';

/** Parsed key policies by their text; bounded so a flood of policy updates cannot grow it. */
const MAX_CACHED_POLICIES = 1000;
const MAX_GRANTS_READ = 1000;

/** KMS authorization for the edge and for other parts calling KMS in-process. */
export interface KmsAccess {
  /** The edge's authorizer: key policy, grants, identity and endpoint policies (see decideKmsAccess). */
  readonly authorize: KmsAuthorizer;
  /**
   * For in-process callers (S3's DataKeyProvider): authorizes `call` — the original caller,
   * with `viaService` set (e.g. `s3.us-east-1.amazonaws.com`) — to perform `action` on the
   * key with this encryption context. Raises AccessDeniedError (or NotFoundError); never
   * performs the operation itself.
   */
  authorizeOnBehalf(call: CallContext, action: string, keyIdentifier: string, encryptionContext?: EncryptionContext): Promise<void>;
}

/**
 * Builds KMS authorization over the key service (keys, key policies, grants) and IAM's
 * access control (identity policies). Denials are logged at info level with the reason;
 * the client gets AWS's AccessDeniedException message only.
 */
export function createKmsAccess(deps: { readonly keys: KeyService; readonly access: AccessControl; readonly log: Logger }): KmsAccess {
  const policies = new Map<string, Policy | null>();
  const keyPolicy = (key: KeyRecord): Policy | undefined => {
    let p = policies.get(key.policy);
    if (p === undefined) {
      try {
        p = parsePolicy(key.policy, 'resource');
      } catch (err) {
        // Stored policies were validated by PutKeyPolicy; one that no longer parses allows nothing.
        deps.log.error({ err, keyId: key.keyId }, 'stored key policy does not parse');
        p = null;
      }
      if (policies.size >= MAX_CACHED_POLICIES) policies.clear();
      policies.set(key.policy, p);
    }
    return p ?? undefined;
  };

  // The hot path, decided at once with no promise: a cached key (named, or the one a blob
  // names) on which the root's call is allowed outright. Everything else: decideAsync.
  const authorize: KmsAuthorizer = (call, action, keyIdentifier, facts) => {
    const named = keyIdentifier ?? facts?.ciphertextKeyId;
    if (named !== undefined && call.principal.type === 'Root') {
      const key = deps.keys.resolveCached(named);
      if (key !== undefined && rootAllowedOnKey(call, key, action)) return undefined;
    }
    return decideAsync(call, action, keyIdentifier, facts);
  };

  const decideAsync = async (call: CallContext, action: string, keyIdentifier: string | undefined, facts: KmsRequestFacts | undefined): Promise<void> => {
    if (keyIdentifier === undefined && facts?.ciphertextKeyId !== undefined) {
      // The key a blob names: if it does not exist, the operation answers InvalidCiphertext.
      const key = deps.keys.resolveCached(facts.ciphertextKeyId) ?? (await resolveOrUndefined(deps.keys, facts.ciphertextKeyId));
      if (key !== undefined && !rootAllowedOnKey(call, key, action)) await authorizeOnKey(call, action, key, facts);
      return;
    }
    if (keyIdentifier === undefined) {
      const decision = await deps.access.authorize(call, action, '*', { facts: { ...kmsCallerFacts(call), ...facts?.conditionKeys } });
      if (!decision.allowed) throw new AccessDeniedError(deps.access.deniedMessage(call, action, '*', decision), { explicitDeny: isExplicit(decision) });
      return;
    }
    // A cached key and the root's call under deny-free policies are decided without an await.
    const key = deps.keys.resolveCached(keyIdentifier) ?? (await resolveOrUndefined(deps.keys, keyIdentifier));
    if (key !== undefined && rootAllowedOnKey(call, key, action)) return;
    if (key === undefined) {
      // Nothing to find a key policy on: IAM alone decides, and the operation then answers
      // its own error (NotFound, or Validation for a malformed name) as AWS does.
      const resource = keyIdentifier.startsWith('arn:') ? keyIdentifier : keyIdentifier.startsWith('alias/') ? aliasArnOf(deps.keys, keyIdentifier) : '*';
      const decision = await deps.access.authorize(call, action, resource, { facts: { ...kmsCallerFacts(call), ...facts?.conditionKeys } });
      if (!decision.allowed) throw new AccessDeniedError(deps.access.deniedMessage(call, action, resource, decision), { explicitDeny: isExplicit(decision) });
      return;
    }
    await authorizeOnKey(call, action, key, facts);
  };

  // authorizeOnKey's first step for the account root (no identity policies to read), done
  // synchronously: true when it allows outright; false leaves the decision to authorizeOnKey.
  // Never for the use of an AWS managed key: its policy, not the root's standing, decides (rootMayUse).
  const rootAllowedOnKey = (call: CallContext, key: KeyRecord, action: string): boolean =>
    call.principal.type === 'Root' && !policyDecidesRoot(key, action) && kmsRootAllowedOutright(call, keyPolicy(key) ?? EMPTY_POLICY, NO_POLICIES);

  // Key policy, grants, identity and endpoint policies for a key that exists. `facts`'
  // ciphertextKeyId, if any, has been resolved to `key` and plays no further part.
  const authorizeOnKey = async (call: CallContext, action: string, key: KeyRecord, facts: KmsRequestFacts | undefined): Promise<void> => {
    const stored = keyPolicy(key) ?? EMPTY_POLICY;
    const policy = action === 'kms:RetireGrant' ? retireGrantKeyPolicy(stored, key.accountId) : stored;
    const identity = call.principal.type === 'Root' ? NO_POLICIES : await deps.access.identityPolicies(call);
    // The account root's calls under deny-free policies need no condition facts (nor the time) at all.
    if (!policyDecidesRoot(key, action) && kmsRootAllowedOutright(call, policy, identity)) return;
    const time = deps.keys.deps.clock.now();
    const arn = keyArn(key);
    const conditionFacts = keyConditionFacts(call, key, facts);
    // Built once and its grants replaced in place: a copy by spread per decision takes V8's
    // slow path on Node 20 (microseconds per request).
    const input: { -readonly [K in keyof KmsAccessInput]: KmsAccessInput[K] } = { call, action, keyArn: arn, keyPolicy: policy, identity, grants: NO_GRANTS, facts: conditionFacts, time };
    if (facts?.encryptionContext !== undefined) input.encryptionContext = facts.encryptionContext;
    let decision: AccessDecision = decideKmsAccess(input);
    // Grants are read only when the policies alone do not allow and nothing denies explicitly.
    // Never for kms:RetireGrant: a grant lets retire itself only, which the RetireGrant route
    // decides (grantLetsRetire); a grantee's RetireGrant grant must not open the key's other grants.
    if (!decision.allowed && !isExplicit(decision) && action !== 'kms:RetireGrant') {
      input.grants = await grantsFor(deps.keys, key, call);
      decision = decideKmsAccess(input);
    }
    if (decision.allowed && policyDecidesRoot(key, action) && !rootMayUse(call, action, arn, policy, conditionFacts, time)) decision = NO_KEY_POLICY_ALLOW;
    if (!decision.allowed) {
      deps.access.logDenial(call, action, arn, decision.reason);
      throw new AccessDeniedError(accessDeniedMessage(call.principal, action, arn, decision.cause), { explicitDeny: isExplicit(decision) });
    }
  };

  return {
    authorize,
    authorizeOnBehalf: async (call, action, keyIdentifier, encryptionContext) => {
      await authorize(call, action, keyIdentifier, encryptionContext !== undefined ? { encryptionContext } : {});
    },
  };
}

/**
 * The key policy kms:RetireGrant is decided under. AWS: "The kms:RetireGrant permission is not
 * effective in a key policy" and "The AWS account that owns the KMS key can delegate the
 * kms:RetireGrant permission to an IAM principal in the account"
 * (https://docs.aws.amazon.com/kms/latest/developerguide/grant-delete.html). So the key
 * policy's Allow statements play no part: in their place the key's account delegates to its
 * IAM policies, whatever the key policy says; a principal of another account is never
 * allowed by a policy (only by the grant, see grantLetsRetire). The key policy's Deny
 * statements are kept: refusing a retirement AWS would allow only ever refuses.
 */
function retireGrantKeyPolicy(stored: Policy, accountId: string): Policy {
  const delegation = parsePolicy(
    JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'RetireGrantByIamPolicies', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${accountId}:root` }, Action: 'kms:RetireGrant', Resource: '*' }] }),
    'resource',
  );
  return { ...stored, statements: [...stored.statements.filter((s) => s.effect === 'Deny'), ...delegation.statements] };
}

/**
 * The use of an AWS managed key (what its policy allows only through the service: kms:Encrypt,
 * kms:Decrypt, kms:ReEncrypt*, kms:GenerateDataKey*, kms:CreateGrant; and kms:Sign and
 * kms:Verify, which the policy of the server's own signing keys allows nobody:
 * serviceKeyPolicy), for which the key policy decides even for the account root. Managing the
 * key is refused by each operation as before (UnsupportedOperationException and the like), and
 * reading its metadata the policy allows.
 */
const MANAGED_KEY_USE = /^kms:(Encrypt|Decrypt|ReEncrypt(From|To)|GenerateDataKey(WithoutPlaintext|Pair|PairWithoutPlaintext)?|CreateGrant|Sign|Verify)$/;

function policyDecidesRoot(key: KeyRecord, action: string): boolean {
  return key.keyManager === 'AWS' && MANAGED_KEY_USE.test(action);
}

/**
 * Whether an AWS managed key's policy lets the account root do `action`. The root is otherwise
 * allowed on every key (decideKmsAccess), but AWS gives "no AWS principal ... any permissions
 * to a KMS key unless that permission is provided explicitly" and "to use an IAM policy to
 * allow access to a KMS key, the key policy must explicitly allow it" (developer guide, KMS key
 * access and permissions); a managed key's policy (awsManagedKeyPolicy) allows its use only
 * through its service (kms:ViaService + kms:CallerAccount) and direct metadata reads, so the
 * root's direct Encrypt with alias/aws/s3 is AccessDenied, and S3's on-behalf call is allowed.
 * Non-root callers are decided by the key policy already (decideKmsAccess): true for them.
 */
function rootMayUse(call: CallContext, action: string, arn: string, policy: Policy, facts: ConditionFacts, time: Date): boolean {
  if (call.principal.type !== 'Root') return true;
  const principal = { type: 'Account', arn: call.principal.arn, account: call.principal.accountId } as const;
  return evaluatePolicy(policy, { principal, action, resource: arn, context: facts, time }).effect === 'Allow';
}

const NO_KEY_POLICY_ALLOW: AccessDecision = { allowed: false, reason: 'the AWS managed key policy does not allow the account root this call', cause: 'no-resource-allow' };

const EMPTY_POLICY: Policy = { kind: 'resource', version: '2012-10-17', id: 'unparsable', statements: [] };
/** The root's identity policies: none, one shared frozen list instead of an array per call. */
const NO_POLICIES: readonly Policy[] = Object.freeze([]);
const NO_GRANTS: readonly GrantView[] = Object.freeze([]);
type KmsAccessInput = Parameters<typeof decideKmsAccess>[0];

/**
 * The condition facts of a call on a key: the caller's, the key's, the encryption context's,
 * then the route's condition keys (later keys win), exactly the own keys and values of
 * `{ ...kmsCallerFacts(call), 'kms:KeySpec': …, ...encryptionContextFacts(…), ...conditionKeys }`.
 * Built by assignment onto newConditionFacts() (no Object.prototype in its chain, so a
 * caller's `__proto__` context key stays a key): on Node 20 that literal takes V8's slow path
 * (several µs per request).
 */
function keyConditionFacts(call: CallContext, key: KeyRecord, facts: KmsRequestFacts | undefined): ConditionFacts {
  const out = Object.assign(newConditionFacts(), kmsCallerFacts(call));
  out['kms:KeySpec'] = key.keySpec;
  out['kms:KeyUsage'] = key.keyUsage;
  out['kms:KeyOrigin'] = 'AWS_KMS';
  Object.assign(out, encryptionContextFacts(facts?.encryptionContext));
  if (facts?.conditionKeys !== undefined) Object.assign(out, facts.conditionKeys);
  return out;
}

/** A denial by a Deny statement (key, identity or endpoint policy), not for want of an Allow. */
function isExplicit(decision: AccessDecision): boolean {
  return !decision.allowed && decision.cause.startsWith('explicit');
}

function kmsCallerFacts(call: CallContext): ConditionFacts {
  return { 'kms:CallerAccount': call.principal.accountId === '' ? undefined : call.principal.accountId, 'kms:ViaService': call.viaService };
}

/** The key, or undefined when it does not exist (NotFoundError); other errors propagate. */
function resolveOrUndefined(keys: KeyService, keyIdentifier: string): Promise<KeyRecord | undefined> {
  return keys.resolve(keyIdentifier).catch((err: unknown) => {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  });
}

async function grantsFor(keys: KeyService, key: KeyRecord, call: CallContext): Promise<readonly GrantView[]> {
  const names = [call.principal.arn, call.principal.roleArn].filter((n): n is string => n !== undefined);
  const found: GrantView[] = [];
  for (const granteePrincipal of names) {
    const page = await keys.deps.store.listGrants(MAX_GRANTS_READ, undefined, { keyId: key.keyId, granteePrincipal });
    found.push(...page.items);
  }
  return found;
}

function aliasArnOf(keys: KeyService, aliasName: string): string {
  return aliasArn(keys.deps.settings.region, keys.deps.settings.accountId, aliasName);
}
