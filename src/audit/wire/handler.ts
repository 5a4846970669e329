import type { AuditStore } from '../audit-store.js';
import { toCloudTrailWireError, type CloudTrailWireError } from './error-codes.js';
import { CloudTrailRequestError } from './errors.js';
import { listPublicKeysBody, parseListPublicKeys, type DigestPublicKey } from './list-public-keys.js';
import { lookupEventEntry, parseLookupEvents } from './lookup-events.js';

/** X-Amz-Target prefix of the CloudTrail JSON 1.1 API. */
export const CLOUDTRAIL_TARGET_PREFIX = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.';

/** Largest CloudTrail request body we read (a LookupEvents or ListPublicKeys body is a few hundred bytes). */
export const CLOUDTRAIL_MAX_BODY_BYTES = 64 * 1024;

/**
 * Decides whether the caller may perform the CloudTrail `action` (`cloudtrail:LookupEvents`, `cloudtrail:ListPublicKeys`):
 * undefined when allowed, else the AccessDenied message for the client. The edge binds it to
 * the request's caller.
 */
export type CloudTrailAuthorizer = (action: string) => Promise<string | undefined>;

/** The outcome of one CloudTrail call, for the edge to send and to audit. */
export interface CloudTrailOutcome {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly operation: string;
  readonly readOnly: boolean;
  readonly error?: CloudTrailWireError;
  /** Request fields safe to record. */
  readonly requestParameters?: Record<string, string | number>;
}

/** What the CloudTrail operations read: the trail's lookup, and the keys that sign exported digest files. */
export interface CloudTrailReadDeps {
  readonly store: Pick<AuditStore, 'lookup'>;
  /** The CloudTrail digest keys (none before the server first made one). */
  readonly publicKeys: () => Promise<readonly DigestPublicKey[]>;
  readonly now: () => Date;
}

/** The operations served; any other target answers UnknownOperationException. */
const OPERATIONS: ReadonlySet<string> = new Set(['LookupEvents', 'ListPublicKeys']);

/**
 * Serves one authenticated CloudTrail JSON 1.1 request: LookupEvents over the trail, and
 * ListPublicKeys (the keys that sign exported digest files, for `aws cloudtrail
 * validate-logs`); any other target answers UnknownOperationException. The caller must be
 * allowed the operation's action (`authorize`), else AccessDeniedException, before the
 * body is read: the trail holds every caller's requests. Every error becomes a CloudTrail
 * wire error (unexpected ones InternalFailure, generic message: log `cause` for detail).
 * Reads only; never writes.
 *
 * Paging: the store is read in pages of MaxResults; when a lookup attribute is filtered after
 * the store (EventId, ReadOnly, Username, ResourceType), a page may hold fewer than
 * MaxResults events and still carry a NextToken, as CloudTrail allows.
 */
export async function handleCloudTrailRequest(
  deps: CloudTrailReadDeps,
  target: string,
  rawBody: Buffer,
  authorize: CloudTrailAuthorizer,
): Promise<CloudTrailOutcome & { cause?: unknown }> {
  const operation = target.startsWith(CLOUDTRAIL_TARGET_PREFIX) ? target.slice(CLOUDTRAIL_TARGET_PREFIX.length) : target;
  if (!OPERATIONS.has(operation) || !target.startsWith(CLOUDTRAIL_TARGET_PREFIX)) {
    const error = { code: 'UnknownOperationException', status: 400, message: `Unknown operation ${operation}` };
    return { status: 400, operation, readOnly: true, body: { __type: error.code, message: error.message }, error };
  }
  let requestParameters: Record<string, string | number> | undefined;
  try {
    const denied = await authorize(`cloudtrail:${operation}`);
    if (denied !== undefined) throw new CloudTrailRequestError('AccessDeniedException', denied);
    if (operation === 'ListPublicKeys') {
      const request = parseListPublicKeys(parseBody(rawBody));
      requestParameters = request.auditParameters;
      return { status: 200, operation, readOnly: true, body: listPublicKeysBody(await deps.publicKeys(), request, deps.now()), requestParameters };
    }
    const request = parseLookupEvents(parseBody(rawBody));
    requestParameters = request.auditParameters;
    const page = await deps.store.lookup({ ...request.query, limit: request.maxResults });
    const events = page.records.map((r) => r.event).filter((e) => request.postFilter?.(e) ?? true);
    const body = { Events: events.map(lookupEventEntry), ...(page.nextToken !== undefined ? { NextToken: page.nextToken } : {}) };
    return { status: 200, operation, readOnly: true, body, requestParameters };
  } catch (err) {
    const error = toCloudTrailWireError(err);
    return {
      status: error.status,
      operation,
      readOnly: true,
      body: { __type: error.code, message: error.message },
      error,
      ...(requestParameters !== undefined ? { requestParameters } : {}),
      ...(error.status >= 500 ? { cause: err } : {}),
    };
  }
}

function parseBody(raw: Buffer): Record<string, unknown> {
  if (raw.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new CloudTrailRequestError('SerializationException', 'The request body is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new CloudTrailRequestError('SerializationException', 'The request body must be a JSON object');
  return parsed as Record<string, unknown>;
}
