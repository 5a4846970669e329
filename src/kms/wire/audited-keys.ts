import type { KeyService } from '../keys/key-service.js';
import { aliasArn, keyArn } from '../keys/key-record.js';
import type { KmsRequestFacts, KmsRoute } from './route.js';
import type { KmsOutcome } from './handler.js';

/** A key the audit record of a call lists in `resources`, as the request (or its blob) named it. */
export interface AuditedKey {
  /** A key id, key ARN, alias name or alias ARN. */
  readonly id: string;
  /**
   * Named by a ciphertext blob rather than the request: the blob is the caller's bytes, so a
   * forged one names any key id it likes; such a key is listed only if it exists here.
   */
  readonly fromBlob?: true;
}

/** A CloudTrail resource entry of a KMS record (the edge adds the account). */
export interface AuditedResource {
  readonly arn: string;
  readonly type: string;
}

const KEY_RESOURCE = 'AWS::KMS::Key';

/**
 * The keys a failed call's record lists, in CloudTrail's order: the route's own list
 * (auditedKeys: ReEncrypt's source then destination), else the key the request names, else
 * the one its blob names. Never raises: a request that did not parse lists none.
 */
export function auditedKeysOf(route: KmsRoute, req: unknown, keyIdentifier: string | undefined, facts: KmsRequestFacts | undefined): readonly AuditedKey[] {
  if (route.auditedKeys !== undefined) return req === undefined ? [] : route.auditedKeys(req);
  if (keyIdentifier !== undefined) return [{ id: keyIdentifier }];
  const blobKey = facts?.ciphertextKeyId;
  return blobKey === undefined ? [] : [{ id: blobKey, fromBlob: true }];
}

// An alias name or alias ARN (KeyService.resolve's other identifiers are key ids and key ARNs).
const ALIAS_IDENTIFIER = /^(arn:aws[a-z-]*:kms:[^:]*:\d{12}:)?alias\//;

/**
 * What a record lists for `claimed`, resolved: an alias becomes the ARN of the key it points
 * to (an alias naming nothing stays as named), a key a blob names is dropped unless it exists,
 * a key the request names stays as named. One key: `keyIdentifier` (the edge makes it an
 * ARN); more: `resources`, full ARNs in the same order. Never raises.
 */
export async function resolveAuditedKeys(keys: KeyService, claimed: readonly AuditedKey[]): Promise<{ keyIdentifier?: string; resources?: readonly AuditedResource[] }> {
  const listed: string[] = [];
  for (const c of claimed) {
    const named = await listedAs(keys, c);
    if (named !== undefined) listed.push(named);
  }
  if (listed.length === 0) return {};
  if (listed.length === 1) return { keyIdentifier: listed[0]! };
  return { resources: listed.map((id) => ({ arn: asArn(keys, id), type: KEY_RESOURCE })) };
}

async function listedAs(keys: KeyService, c: AuditedKey): Promise<string | undefined> {
  if (!c.fromBlob && !ALIAS_IDENTIFIER.test(c.id)) return c.id;
  const key = keys.resolveCached(c.id) ?? (await keys.resolve(c.id).catch(() => undefined));
  if (key !== undefined) return keyArn(key);
  return c.fromBlob ? undefined : c.id;
}

/** The ARN of an identifier as named: an ARN as it is, else the key (or alias) of this installation. */
function asArn(keys: KeyService, id: string): string {
  if (id.startsWith('arn:')) return id;
  const { region, accountId } = keys.deps.settings;
  return id.startsWith('alias/') ? aliasArn(region, accountId, id) : keyArn({ region, accountId, keyId: id });
}

/** The resources of a successful call that used several keys (route.resultKeys), as full ARNs. */
export function resultResources(arns: readonly string[]): readonly AuditedResource[] {
  return arns.map((arn) => ({ arn, type: KEY_RESOURCE }));
}

/**
 * A successful outcome with an alias it names replaced by the ARN of the key the alias points
 * to: a CloudTrail record lists the key in `resources` (its requestParameters keep the alias),
 * so a LookupEvents by the key's ARN finds calls made by alias too. An alias that resolves to
 * nothing (NotFound) is left as named. A failed outcome is named already (resolveAuditedKeys).
 * Synchronous when there is no alias to resolve; never raises.
 */
export function namingTheKey(keys: KeyService, outcome: KmsOutcome): KmsOutcome | Promise<KmsOutcome> {
  const named = outcome.keyIdentifier;
  // DeleteAlias acts on the alias itself: its record names the alias.
  if (named === undefined || outcome.error !== undefined || outcome.operation === 'DeleteAlias' || !ALIAS_IDENTIFIER.test(named)) return outcome;
  return keys.resolve(named).then(
    (key) => ({ ...outcome, keyIdentifier: keyArn(key) }),
    () => outcome,
  );
}
