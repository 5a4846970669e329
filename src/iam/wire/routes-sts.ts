import { echoed } from '../../common/bounded-echo.js';
import { IamAccessDeniedError, IamValidationError } from '../errors.js';
import { roleNameOf } from '../identity-policies.js';
import { parsePolicy } from '../policy/index.js';
import { assumeRole, checkAssumeRoleRequest } from '../operations/sts.js';
import { queryRoute, type QueryRoute } from './route.js';

/** The STS actions served, by Action parameter. */
export const STS_ROUTES: Readonly<Record<string, QueryRoute>> = {
  GetCallerIdentity: queryRoute({
    service: 'sts',
    // Everyone may ask who they are, even with every other action denied (as on AWS).
    action: undefined,
    readOnly: true,
    parse: () => ({}),
    resource: () => '*',
    operate: async (_d, _r, call) => call.principal,
    respond: (p) => ({ UserId: p.type === 'Root' ? p.accountId : p.principalId, Account: p.accountId, Arn: p.arn }),
  }),

  AssumeRole: queryRoute({
    service: 'sts',
    action: 'sts:AssumeRole',
    readOnly: false,
    parse: (p) => {
      // Session policies and session tags are not implemented: refusing them fails closed
      // (ignoring a scope-down policy would hand out the role's full permissions). Any member
      // counts, not only `.member.1`: a list may start at another index.
      for (const name of ['Policy', 'PolicyArns', 'Tags', 'TransitiveTagKeys']) {
        if (p.mentions(name)) throw new IamValidationError(`${name} is not supported: Cipherlake does not implement session policies or session tags.`);
      }
      const durationSeconds = p.integer('DurationSeconds');
      const req = { roleArn: p.required('RoleArn'), roleSessionName: p.required('RoleSessionName'), ...(durationSeconds !== undefined ? { durationSeconds } : {}) };
      // Before authorization, as STS validates: a malformed request is ValidationError, not AccessDenied.
      checkAssumeRoleRequest(req);
      return req;
    },
    resource: (r) => r.roleArn,
    // The role's trust policy is the resource policy of sts:AssumeRole, and it must allow the
    // caller: an identity policy allowing sts:AssumeRole on the role is not enough on its own.
    resourcePolicyRequired: true,
    resourcePolicies: async (d, r) => {
      const role = await d.store.getRole(roleNameOf(r.roleArn));
      return role === undefined || role.arn !== r.roleArn ? [] : [parsePolicy(role.trustPolicy, 'trust')];
    },
    operate: async (d, r, call) => {
      if (call.principal.type === 'Root') throw new IamAccessDeniedError('Roles may not be assumed by root accounts.');
      const role = await d.store.getRole(roleNameOf(r.roleArn));
      if (role === undefined || role.arn !== r.roleArn) {
        throw new IamAccessDeniedError(`User: ${call.principal.arn} is not authorized to perform: sts:AssumeRole on resource: ${echoed(r.roleArn)}`);
      }
      return assumeRole(d, call.principal, role, r);
    },
    respond: (c) => ({
      Credentials: { AccessKeyId: c.accessKeyId, SecretAccessKey: c.secretAccessKey, SessionToken: c.sessionToken, Expiration: c.expiration },
      AssumedRoleUser: { AssumedRoleId: c.assumedRoleId, Arn: c.assumedRoleArn },
    }),
  }),
};
