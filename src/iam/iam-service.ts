import type { Logger } from 'pino';
import type { Clock } from '../common/clock.js';
import { AccessControl } from './access-control.js';
import type { SecretSealer, IamDeps } from './iam-context.js';
import { IamCredentialLookup } from './iam-credentials.js';
import { StoredIdentityPolicies } from './identity-policies.js';
import type { IdentityStore } from './identity-store.js';
import type { CredentialLookup } from './principals.js';
import { handleQueryRequest, type QueryOutcome } from './wire/handler.js';
import { QueryParams, type QueryService } from './wire/query.js';
import type { QueryCall } from './wire/route.js';

/** The IAM part, assembled: what main.ts wires into the edge and the other parts. */
export interface IamService {
  /** Root credentials first, then IAM users' active keys and STS sessions. */
  readonly credentials: IamCredentialLookup;
  readonly access: AccessControl;
  readonly identityPolicies: StoredIdentityPolicies;
  readonly deps: IamDeps;
  /** Serves one authenticated IAM/STS Query request (form body and raw query string). */
  handle(service: QueryService, body: string, rawQuery: string, call: QueryCall, requestId: string): Promise<QueryOutcome>;
}

/**
 * Builds the IAM part over an identity store. Changes made through it (keys deleted or
 * deactivated, policies changed) drop the affected cache entries at once; changes made by
 * other nodes are seen within the caches' time bounds. Never throws.
 */
export function createIamService(options: {
  readonly store: IdentityStore;
  readonly sealer: SecretSealer;
  readonly clock: Clock;
  readonly accountId: string;
  readonly rootCredentials: CredentialLookup;
  readonly log: Logger;
}): IamService {
  const { store, sealer, clock, accountId, log } = options;
  const credentials = new IamCredentialLookup(options.rootCredentials, { store, sealer, clock, accountId });
  const identityPolicies = new StoredIdentityPolicies(store, clock);
  const access = new AccessControl({ identity: identityPolicies, clock, log });
  const deps: IamDeps = {
    store,
    sealer,
    clock,
    accountId,
    onChange: (what) => {
      if (what.accessKeyId !== undefined) credentials.invalidate(what.accessKeyId);
      if (what.principalName !== undefined) {
        identityPolicies.invalidate(what.principalName);
        // A deleted user's keys are gone too; drop every cached credential to be sure.
        credentials.invalidate();
      }
    },
  };
  return {
    credentials,
    access,
    identityPolicies,
    deps,
    handle: (service, body, rawQuery, call, requestId) => handleQueryRequest(deps, access, service, QueryParams.parse(body, rawQuery), call, requestId, log),
  };
}
