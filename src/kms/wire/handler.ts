import { randomUUID } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import type { Logger } from 'pino';
import type { KeyService } from '../keys/key-service.js';
import type { CallContext } from '../kms-context.js';
import { Fields, SerializationError, typeErrorBehind, type JsonObject } from './fields.js';
import { toKmsWireError, type KmsWireError } from './error-codes.js';
import { KMS_ROUTES } from './routes.js';
import type { KmsRequestFacts, KmsRoute } from './route.js';
import { kmsAuditParameters } from './audit-params.js';
import { auditedKeysOf, namingTheKey, resolveAuditedKeys, resultResources, type AuditedKey, type AuditedResource } from './audited-keys.js';
import { AccessDeniedError, DryRunOperationError } from '../errors.js';

/** The outcome of one KMS call, for the edge to send and the audit trail to record. */
export interface KmsOutcome {
  readonly status: number;
  /** The JSON document to answer, or its text already serialised (a route's respondText). */
  readonly body: JsonObject | string;
  readonly operation: string;
  readonly action?: string;
  readonly readOnly: boolean;
  readonly keyIdentifier?: string;
  readonly error?: KmsWireError;
  /** Request and response fields safe to record (no plaintext, key material or blobs). */
  readonly requestParameters?: JsonObject;
  readonly responseElements?: JsonObject;
  /** CloudTrail additionalEventData of a successful call (the key material used); never secret. */
  readonly additionalEventData?: JsonObject;
  /**
   * The keys the record lists when there are several (ReEncrypt: source then destination),
   * as full ARNs; then keyIdentifier is absent. One key is keyIdentifier alone.
   */
  readonly resources?: readonly AuditedResource[];
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Decides whether `call` may perform `action` on the key, given the request's condition
 * facts; raises AccessDeniedError otherwise (NotFoundError for an unknown key), as a
 * rejected promise or, when decided at once, thrown. Returns undefined when allowed at once
 * (no promise to await: the hot path), else a promise that settles with the decision.
 */
export type KmsAuthorizer = (call: CallContext, action: string, keyIdentifier: string | undefined, facts?: KmsRequestFacts) => Promise<void> | undefined;

const GRANT_TOKENS_LIMIT = { max: 10 } as const;

/** Largest KMS request body we read (policies are up to 32 KiB, plaintext 4 KiB, base64 grows it). */
export const KMS_MAX_BODY_BYTES = 128 * 1024;

/**
 * The Content-Types a KMS request may carry: the JSON protocol's (parameters such as
 * charset ignored, as the protocol requires) and plain application/json, which no SDK sends
 * but refusing could only break a hand-made client. AWS's JSON services answer
 * UnknownOperationException to a body of another type (application/octet-stream, text/plain).
 */
const KMS_CONTENT_TYPE = /^\s*application\/(x-amz-json-1\.[01]|json)\s*(;|$)/i;

// Clients send one Content-Type request after request: the last one accepted is remembered.
let lastContentType = '';

function isKmsContentType(contentType: string): boolean {
  if (contentType === lastContentType) return true;
  if (!KMS_CONTENT_TYPE.test(contentType)) return false;
  lastContentType = contentType;
  return true;
}

/**
 * Serves one KMS JSON 1.1 request that has already been authenticated: parse → authorize →
 * operate → respond. Every error, including unexpected ones, becomes a KMS wire error; an
 * unexpected one is logged with its detail and answered with a generic message. A
 * `contentType` given and not JSON's is UnknownOperationException, as for an unknown target.
 * Returns the outcome itself when nothing had to be waited for (the hot path: a cached key
 * decided and operated at once, no promise), else a promise of it; never throws or rejects.
 */
export function handleKmsRequest(
  keys: KeyService,
  target: string,
  rawBody: Buffer,
  call: CallContext,
  authorize: KmsAuthorizer,
  log: Logger,
  contentType?: string,
): KmsOutcome | Promise<KmsOutcome> {
  const outcome = serve(keys, target, rawBody, call, authorize, log, contentType);
  return outcome instanceof Promise ? outcome.then((o) => namingTheKey(keys, o)) : namingTheKey(keys, outcome);
}

/** handleKmsRequest before the key it names is resolved for the record. */
function serve(
  keys: KeyService,
  target: string,
  rawBody: Buffer,
  call: CallContext,
  authorize: KmsAuthorizer,
  log: Logger,
  contentType: string | undefined,
): KmsOutcome | Promise<KmsOutcome> {
  const known = knownTarget(target);
  if (known === undefined || (contentType !== undefined && !isKmsContentType(contentType))) {
    const operation = target.startsWith('TrentService.') ? target.slice('TrentService.'.length) : target;
    return { status: 400, operation, readOnly: true, body: { __type: 'UnknownOperationException' }, error: { code: 'UnknownOperationException', status: 400, message: '' } };
  }
  const { operation, route } = known;
  let keyIdentifier: string | undefined;
  let audited: string | undefined;
  let requestParameters: JsonObject | undefined;
  let parsing: JsonObject | undefined;
  let req: unknown;
  let facts: KmsRequestFacts | undefined;
  try {
    const body = parseJson(rawBody);
    requestParameters = kmsAuditParameters(body);
    parsing = body;
    req = parseRequest(route, new Fields(body));
    parsing = undefined;
    // Read (and type-checked) by parseRequest; a dry run goes the whole way but the operation.
    const dryRun = route.takesDryRun === true && body.DryRun === true;
    keyIdentifier = route.keyOf?.(req);
    facts = route.conditions?.(req);
    // The key the record names: the one the request names, else the one a Decrypt's blob names
    // (CloudTrail lists the key of a Decrypt made without KeyId as well).
    audited = keyIdentifier ?? facts?.ciphertextKeyId;
    const decided = route.allowedByResource === undefined ? authorize(call, route.action, keyIdentifier, facts) : authorizeUnlessResourceAllows(keys, call, authorize, route, req, keyIdentifier);
    // The rest waits only when there is something to wait for: a decision, a further one, a read.
    const res = decided === undefined && route.alsoAuthorize === undefined && !dryRun ? route.operateNow?.(keys, req, call) : undefined;
    if (res === undefined) return finishLater({ keys, call, authorize, log, operation, route, req, keyIdentifier, facts, audited, requestParameters, dryRun }, decided);
    return success(operation, route, req, res, audited, requestParameters);
  } catch (err) {
    // Refused while parsing: a member of the wrong JSON type anywhere in the body is the answer, as AWS deserializes before it validates.
    const first = parsing !== undefined && !(err instanceof SerializationError) ? (typeErrorBehind(parsing, (f) => parseRequest(route, f)) ?? err) : err;
    return namingKeys(keys, failure(first, log, operation, route, requestParameters), operation, auditedKeysOf(route, req, keyIdentifier, facts));
  }
}

/**
 * A failed call's outcome with the keys its record lists (auditedKeysOf, resolved by
 * resolveAuditedKeys); at once when there is nothing to resolve. DeleteAlias acts on the
 * alias itself: its record names the alias as given.
 */
function namingKeys(keys: KeyService, outcome: KmsOutcome, operation: string, claimed: readonly AuditedKey[]): KmsOutcome | Promise<KmsOutcome> {
  if (claimed.length === 0) return outcome;
  if (operation === 'DeleteAlias' || (claimed.length === 1 && !claimed[0]!.fromBlob && !claimed[0]!.id.includes('alias/'))) return { ...outcome, keyIdentifier: claimed[0]!.id };
  return resolveAuditedKeys(keys, claimed).then((named) => ({ ...outcome, ...named }));
}

/**
 * `action`'s policy decision, except that a refusal for want of an Allow is overridden when
 * the route's own resource allows the call (allowedByResource). An explicit Deny still
 * refuses: AWS lets a Deny on kms:RetireGrant stop even the principals a grant names.
 */
async function authorizeUnlessResourceAllows(keys: KeyService, call: CallContext, authorize: KmsAuthorizer, route: KmsRoute, req: unknown, keyIdentifier: string | undefined): Promise<void> {
  const allowedByResource = (await route.allowedByResource?.(keys, req, call)) === true;
  try {
    await authorize(call, route.action, keyIdentifier, route.conditions?.(req));
  } catch (err) {
    if (!allowedByResource || !(err instanceof AccessDeniedError) || err.explicitDeny) throw err;
  }
}

/** The route's typed request from the body's fields. */
function parseRequest(route: KmsRoute, fields: Fields): unknown {
  // Most operations take GrantTokens; its shape is checked here once, so no route ignores a malformed one.
  fields.stringList('GrantTokens', GRANT_TOKENS_LIMIT);
  if (route.takesDryRun === true) fields.boolean('DryRun');
  return route.parse(fields);
}

/** What handleKmsRequest hands its asynchronous rest (built only when there is one). */
interface PendingCall {
  readonly keys: KeyService;
  readonly call: CallContext;
  readonly authorize: KmsAuthorizer;
  readonly log: Logger;
  readonly operation: string;
  readonly route: KmsRoute;
  readonly req: unknown;
  readonly keyIdentifier: string | undefined;
  readonly facts: KmsRequestFacts | undefined;
  /** The key the audit record names: the one named, else the blob's. */
  readonly audited: string | undefined;
  readonly requestParameters: JsonObject | undefined;
  /** DryRun was set on a route that takes it: answered DryRunOperationException once authorized. */
  readonly dryRun: boolean;
}

/** handleKmsRequest from the authorization on, when something must be awaited: the same steps, in the same order. */
async function finishLater(p: PendingCall, decided: Promise<void> | undefined): Promise<KmsOutcome> {
  const { keys, call, authorize, route, req } = p;
  try {
    if (decided !== undefined) await decided;
    if (route.alsoAuthorize !== undefined) for (const extra of route.alsoAuthorize(req)) await authorize(call, extra.action, extra.keyIdentifier, extra.facts);
    if (p.dryRun) await answerDryRun(keys, route, req, call);
    const res = route.operateNow?.(keys, req, call) ?? (await route.operate(keys, req, call));
    return success(p.operation, route, req, res, p.audited, p.requestParameters);
  } catch (err) {
    return namingKeys(keys, failure(err, p.log, p.operation, route, p.requestParameters), p.operation, auditedKeysOf(route, req, p.keyIdentifier, p.facts));
  }
}

/**
 * A dry run, once authorized: everything the call would check, then DryRunOperationError
 * (DryRun verifies that the call would succeed, developer guide "Testing your permissions"). A route that changes something checks through its checkDryRun; any
 * other runs its operation, whose result is dropped (plaintexts zeroed) and never answered,
 * so key usage, IncorrectKey, a bad blob or algorithm answer as the call would.
 */
async function answerDryRun(keys: KeyService, route: KmsRoute, req: unknown, call: CallContext): Promise<never> {
  if (route.checkDryRun !== undefined) await route.checkDryRun(keys, req, call);
  else dropResult(route.operateNow?.(keys, req, call) ?? (await route.operate(keys, req, call)));
  throw new DryRunOperationError('Request would have succeeded, but DryRun flag is set.');
}

// The plaintext members of the results of routes taking DryRun (Decrypt, GenerateDataKey,
// GenerateDataKeyPair): fresh buffers no one else holds, zeroed as the wire layer never sends them.
const PLAINTEXT_MEMBERS = ['plaintext', 'privateKeyPlaintext'] as const;

function dropResult(res: unknown): void {
  if (res === null || typeof res !== 'object') return;
  for (const name of PLAINTEXT_MEMBERS) {
    const value: unknown = (res as Record<string, unknown>)[name];
    if (Buffer.isBuffer(value)) value.fill(0);
  }
}

function success(operation: string, route: KmsRoute, req: unknown, res: unknown, keyIdentifier: string | undefined, requestParameters: JsonObject | undefined): KmsOutcome {
  // A read-only answer is not audited, so the hottest routes write its text directly.
  const responseBody = route.readOnly && route.respondText !== undefined ? route.respondText(res) : route.respond(res);
  const responseElements = typeof responseBody === 'string' ? undefined : route.readOnly ? undefined : kmsAuditParameters(responseBody);
  // Assigned rather than spread: this runs once per request.
  const outcome: Mutable<KmsOutcome> = { status: 200, operation, action: route.action, readOnly: route.readOnly, body: responseBody };
  const used = route.resultKeys?.(res);
  if (used === undefined) {
    if (keyIdentifier) outcome.keyIdentifier = keyIdentifier;
  } else if (used.length === 1) outcome.keyIdentifier = used[0]!;
  else if (used.length > 1) outcome.resources = resultResources(used);
  if (requestParameters) outcome.requestParameters = requestParameters;
  if (responseElements) outcome.responseElements = responseElements;
  const additionalEventData = route.auditData?.(req, res);
  if (additionalEventData !== undefined) outcome.additionalEventData = additionalEventData;
  return outcome;
}

/** The outcome of a failed call, without the keys its record lists (see namingKeys). */
function failure(err: unknown, log: Logger, operation: string, route: KmsRoute, requestParameters: JsonObject | undefined): KmsOutcome {
  // A body or member that does not deserialize (fields.ts): AWS's SerializationException, before any validation.
  const wire = err instanceof SerializationError ? { code: 'SerializationException', status: 400, message: err.message } : toKmsWireError(err);
  if (wire.status >= 500) log.error({ err, operation, requestId: randomUUID() }, 'KMS operation failed');
  return {
    status: wire.status,
    operation,
    action: route.action,
    readOnly: route.readOnly,
    body: { __type: wire.code, message: wire.message },
    error: wire,
    ...(requestParameters ? { requestParameters } : {}),
  };
}

/**
 * The targets of known routes, with their operation name and route: bounded by the route
 * table (an unknown target is never kept), and spares the prefix tests, the slice and the
 * table lookup of each request.
 */
const KNOWN_TARGETS = new Map<string, { readonly operation: string; readonly route: KmsRoute }>();

// Only `TrentService.<Operation>` names an operation; a bare `CreateKey` is as unknown as any other target.
function knownTarget(target: string): { readonly operation: string; readonly route: KmsRoute } | undefined {
  let known = KNOWN_TARGETS.get(target);
  if (known === undefined && target.startsWith('TrentService.')) {
    const operation = target.slice('TrentService.'.length);
    const route = Object.hasOwn(KMS_ROUTES, operation) ? KMS_ROUTES[operation] : undefined;
    if (route !== undefined) {
      known = { operation, route };
      KNOWN_TARGETS.set(target, known);
    }
  }
  return known;
}

function parseJson(raw: Buffer): JsonObject {
  if (raw.length === 0) return {};
  // Not UTF-8 → refused, not decoded leniently: a lenient decode maps every invalid byte to
  // U+FFFD, so two different encryption contexts ("x\xff", "x\xfe") would become one.
  if (!isUtf8(raw)) throw new SerializationError();
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new SerializationError();
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || nestedDeeperThan(value, MAX_JSON_DEPTH)) throw new SerializationError();
  return value as JsonObject;
}

/** No KMS request nests deeper than a few levels; deeper bodies would overflow the recursive audit walk. */
const MAX_JSON_DEPTH = 32;

// Recursion is bounded by `limit`, so a hostile depth cannot overflow the stack here.
function nestedDeeperThan(value: unknown, limit: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (limit === 0) return true;
  for (const k in value) {
    if (nestedDeeperThan((value as Record<string, unknown>)[k], limit - 1)) return true;
  }
  return false;
}
