import type { Logger } from 'pino';
import type { CallContext } from '../../kms/index.js';
import { Ec2DryRunError, Ec2InvalidActionError, Ec2MissingActionError, Ec2UnauthorizedError } from '../errors.js';
import type { VolumeContext } from '../volume-context.js';
import { Ec2Params } from './ec2-params.js';
import { ec2ResourcesOf, type Ec2AuditResource } from './ec2-resources.js';
import { ec2ErrorResponse, ec2Response, type Ec2Fields } from './ec2-xml.js';
import { toEc2WireError, type Ec2WireError } from './error-codes.js';
import { EC2_ROUTES } from './routes.js';

/** Largest EC2 Query body we read. */
export const EC2_MAX_BODY_BYTES = 64 * 1024;

/** The outcome of one EC2 call, for the edge to send and the audit trail to record. */
export interface Ec2Outcome {
  readonly status: number;
  readonly operation: string;
  readonly readOnly: boolean;
  /** The XML document to send. */
  readonly body: string;
  readonly error?: Ec2WireError;
  readonly requestParameters?: Record<string, unknown>;
  /** Response fields for the audit record (never the NBD PSK). */
  readonly responseElements?: Record<string, unknown>;
  /** The volumes, snapshots and instances the call named or created (audit `resources`); absent when none. */
  readonly resources?: readonly Ec2AuditResource[];
}

/** Decides whether `call` may perform the EC2 `action` (e.g. `ec2:CreateVolume`); false denies. */
export type Ec2Authorizer = (call: CallContext, action: string) => Promise<boolean>;

/**
 * Serves one authenticated EC2 Query request: parse → authorize → (dry run) → operate →
 * respond. Never throws: every failure becomes EC2's error document.
 */
export async function handleEc2Request(
  ctx: VolumeContext, body: string, rawQuery: string, call: CallContext, requestId: string, authorize: Ec2Authorizer | undefined, log: Logger,
): Promise<Ec2Outcome> {
  const params = Ec2Params.parse(body, rawQuery);
  const action = params.optional('Action') ?? '';
  const requestParameters = Object.fromEntries(params.entries().filter(([k]) => k !== 'Action' && k !== 'Version'));
  const route = Object.hasOwn(EC2_ROUTES, action) ? EC2_ROUTES[action] : undefined;
  // Set once the request parsed: only then do its resource parameters name resources.
  let parsed = false;
  try {
    if (action === '') throw new Ec2MissingActionError('The request must contain the parameter Action.');
    if (route === undefined) throw new Ec2InvalidActionError(`The action ${action.slice(0, 64)} is not valid for this web service.`);
    const req = route.parse(params);
    parsed = true;
    if (authorize !== undefined && !(await authorize(call, `ec2:${action}`))) {
      throw new Ec2UnauthorizedError('You are not authorized to perform this operation.');
    }
    if (params.boolean('DryRun') === true) throw new Ec2DryRunError('Request would have succeeded, but DryRun flag is set.');
    const res = await route.operate(ctx, req, call);
    const fields = route.respond(res, ctx);
    const responseElements = route.readOnly ? undefined : auditFields(fields, route.secretFields ?? []);
    return withResources(ctx, true, {
      status: 200,
      operation: action,
      readOnly: route.readOnly,
      body: ec2Response(action, fields, requestId),
      requestParameters,
      ...(responseElements === undefined ? {} : { responseElements }),
    });
  } catch (err) {
    return withResources(ctx, parsed, { ...ec2Failure(err, requestId, log, action, route?.readOnly ?? true), requestParameters });
  }
}

/** The outcome with the resources its parsed request names (and its response created), when any. */
function withResources(ctx: VolumeContext, parsed: boolean, outcome: Ec2Outcome & { requestParameters: Record<string, unknown> }): Ec2Outcome {
  if (!parsed) return outcome;
  const resources = ec2ResourcesOf(outcome.operation, outcome.requestParameters, outcome.responseElements, ctx.region, ctx.accountId);
  return resources.length === 0 ? outcome : { ...outcome, resources };
}

/** The outcome for a request that failed before or during its operation (authentication included). */
export function ec2Failure(err: unknown, requestId: string, log: Logger, operation = '', readOnly = true): Ec2Outcome {
  const error = toEc2WireError(err, log);
  return { status: error.status, operation, readOnly, body: ec2ErrorResponse(error.code, error.message, requestId), error };
}

/** Response fields as JSON (dates as ISO text), without the named secret ones. */
function auditFields(fields: Ec2Fields, secret: readonly string[]): Record<string, unknown> {
  const kept = Object.fromEntries(Object.entries(fields).filter(([k]) => !secret.includes(k)));
  return JSON.parse(JSON.stringify(kept)) as Record<string, unknown>;
}
