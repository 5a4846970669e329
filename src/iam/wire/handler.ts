import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AccessControl } from '../access-control.js';
import { echoed } from '../../common/bounded-echo.js';
import { IamAccessDeniedError, InvalidActionError } from '../errors.js';
import type { IamDeps } from '../iam-context.js';
import { iamRequestParameters, iamResponseElements, type AuditFields } from './audit-params.js';
import { iamResourcesOf, type IamAuditResource } from './audit-resources.js';
import { toQueryWireError, type QueryWireError } from './error-codes.js';
import { QueryParams, queryError, queryResponse, type QueryService } from './query.js';
import type { QueryCall } from './route.js';
import { resourceTagFacts } from './tag-params.js';
import { IAM_ROUTES } from './routes-iam.js';
import { STS_ROUTES } from './routes-sts.js';

/** Largest IAM/STS request body we read (policy documents are at most a few KiB, URL-encoded). */
export const QUERY_MAX_BODY_BYTES = 64 * 1024;

/** The outcome of one IAM/STS call, for the edge to send and audit. */
export interface QueryOutcome {
  readonly status: number;
  /** The XML document to send. */
  readonly body: string;
  readonly operation: string;
  readonly readOnly: boolean;
  readonly error?: QueryWireError;
  /** The users, roles, policies and access keys the call named (audit `resources`); absent when none. */
  readonly resources?: readonly IamAuditResource[];
  /** The parameters the audit record keeps (audit-params.ts), once the request parsed; absent when none. */
  readonly requestParameters?: AuditFields;
  /** What a successful create's record keeps of its answer (never a secret); absent otherwise. */
  readonly responseElements?: AuditFields;
}

/**
 * Serves one authenticated IAM or STS Query request: parse → authorize → operate →
 * respond. Authorization sees the route's condition keys and, when the resource is an existing
 * user or role, its tags as aws:ResourceTag/… and iam:ResourceTag/…. Every error becomes a Query error document; unexpected ones are logged with
 * their detail and answered ServiceFailure. Denials are logged by AccessControl.
 */
export async function handleQueryRequest(
  deps: IamDeps,
  access: AccessControl,
  service: QueryService,
  params: QueryParams,
  call: QueryCall,
  requestId: string,
  log: Logger,
): Promise<QueryOutcome> {
  const operation = params.optional('Action') ?? '';
  const table = service === 'iam' ? IAM_ROUTES : STS_ROUTES;
  const route = Object.hasOwn(table, operation) ? table[operation] : undefined;
  // The resource authorization saw, kept for the audit record of a denied or failed call too.
  let resource: string | undefined;
  // Set once the request parsed: a denied or failed call's record keeps them too, as CloudTrail's do.
  let requestParameters: AuditFields | undefined;
  try {
    if (route === undefined) throw new InvalidActionError(`Could not find operation ${echoed(operation)} for version ${echoed(params.optional('Version') ?? 'NO_VERSION_SPECIFIED')}`);
    const req = route.parse(params, call);
    requestParameters = iamRequestParameters(service, operation, params);
    if (route.action !== undefined) {
      resource = await route.resource(req, deps.accountId, deps);
      const resourcePolicies = route.resourcePolicies === undefined ? undefined : await route.resourcePolicies(deps, req, call);
      const facts = { ...(await resourceTagFacts(deps, resource)), ...route.facts?.(req) };
      const decision = await access.authorize(call, route.action, resource, {
        facts,
        ...(resourcePolicies === undefined ? {} : { resourcePolicies }),
        ...(route.resourcePolicyRequired === true ? { requireResourceAllow: true } : {}),
      });
      if (!decision.allowed) throw new IamAccessDeniedError(access.deniedMessage(call, route.action, resource, decision));
    }
    const result = route.respond(await route.operate(deps, req, call));
    const outcome = { status: 200, body: queryResponse(service, operation, result, requestId), operation, readOnly: route.readOnly };
    const recorded = withAuditFields(outcome, requestParameters, iamResponseElements(service, operation, result));
    return withResources(recorded, iamResourcesOf(operation, resource, params, createdAccessKeyId(result)));
  } catch (err) {
    const failed = withAuditFields(queryFailure(service, operation, route?.readOnly ?? true, err, requestId, log), requestParameters, undefined);
    return withResources(failed, iamResourcesOf(operation, resource, params));
  }
}

function withResources(outcome: QueryOutcome, resources: readonly IamAuditResource[]): QueryOutcome {
  return resources.length === 0 ? outcome : { ...outcome, resources };
}

/** The outcome with the record's requestParameters and responseElements, each only when there is one. */
function withAuditFields(outcome: QueryOutcome, requestParameters: AuditFields | undefined, responseElements: AuditFields | undefined): QueryOutcome {
  return {
    ...outcome,
    ...(requestParameters === undefined ? {} : { requestParameters }),
    ...(responseElements === undefined ? {} : { responseElements }),
  };
}

/** The id of the access key a CreateAccessKey result carries (never its secret); undefined for any other result. */
function createdAccessKeyId(result: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const key = result?.['AccessKey'];
  if (key === null || typeof key !== 'object') return undefined;
  const id = (key as Record<string, unknown>)['AccessKeyId'];
  return typeof id === 'string' ? id : undefined;
}

/** The outcome for a request that failed before or during its operation (authentication included). */
export function queryFailure(service: QueryService, operation: string, readOnly: boolean, err: unknown, requestId: string, log: Logger): QueryOutcome {
  const wire = toQueryWireError(err);
  if (wire.status >= 500) log.error({ err, operation, requestId }, `${service.toUpperCase()} request failed`);
  return { status: wire.status, body: queryError(service, wire.code, wire.message, requestId, wire.type), operation, readOnly, error: wire };
}

/** A fresh request id for callers that have none. */
export function newRequestId(): string {
  return randomUUID();
}
