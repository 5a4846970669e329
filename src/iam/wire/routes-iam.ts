import { echoed } from '../../common/bounded-echo.js';
import { IamValidationError } from '../errors.js';
import type { IamDeps } from '../iam-context.js';
import type { PolicyOwnerKind } from '../identity-store.js';
import { createAccessKey, deleteAccessKey, listAccessKeys, updateAccessKey } from '../operations/access-keys.js';
import {
  attachPolicy,
  createManagedPolicy,
  deleteInlinePolicy,
  deleteManagedPolicy,
  detachPolicy,
  getInlinePolicy,
  getManagedPolicy,
  listAttachedPolicies,
  putInlinePolicy,
} from '../operations/policies.js';
import { createRole, deleteRole, getRole, listRoles } from '../operations/roles.js';
import { createUser, deleteUser, getUser, listUsers } from '../operations/users.js';
import { accessKeyXml, policyXml, roleXml, taggedRoleXml, taggedUserXml, userXml } from './entities.js';
import { iamPage, pageFields } from './paging.js';
import type { QueryParams } from './query.js';
import { queryRoute, type QueryCall, type QueryRoute } from './route.js';
import { IAM_POLICY_ROUTES } from './routes-iam-policies.js';
import { IAM_TAG_ROUTES } from './routes-iam-tags.js';
import { ENTITY_PATH_PREFIX, ownerArn, pathPrefixParam, POLICY_PATH_PREFIX, policyArnParam } from './route-params.js';
import { requestTagFacts, tagsParam } from './tag-params.js';

/** The ARN a created entity will have: its Path (default `/`) goes between kind and name, as iamArn builds it. */
function createdArn(account: string, kind: 'user' | 'role' | 'policy', path: string | undefined, name: string): string {
  return `arn:aws:iam::${account}:${kind}${path ?? '/'}${name}`;
}

/** UserName, or the calling IAM user when absent (as IAM does for self-service key calls). */
function userOrSelf(p: QueryParams, call: QueryCall): string {
  const name = p.optional('UserName');
  if (name !== undefined && name !== '') return name;
  if (call.principal.type === 'IAMUser' && call.principal.userName !== undefined) return call.principal.userName;
  throw new IamValidationError('Must specify userName when calling with non-User credentials');
}

/**
 * ListUsers' and ListRoles' parameters: a page (MaxItems, Marker) under PathPrefix, which is absent
 * (not undefined) when not sent; a PathPrefix not of IAM's pattern is a ValidationError.
 */
function pathPage(p: QueryParams): { maxItems: number | undefined; marker: string | undefined; pathPrefix?: string } {
  const pathPrefix = pathPrefixParam(p, ENTITY_PATH_PREFIX);
  return { maxItems: p.maxItems(), marker: p.optional('Marker'), ...(pathPrefix !== undefined ? { pathPrefix } : {}) };
}

/**
 * Permissions boundaries are not implemented: a CreateUser or CreateRole that sets one is
 * refused (ValidationError) rather than creating an entity without the limit its creator asked
 * for, as AssumeRole refuses session policies. Raises IamValidationError.
 */
function refuseBoundary(p: QueryParams): void {
  if (p.mentions('PermissionsBoundary')) throw new IamValidationError('PermissionsBoundary is not supported: Cipherlake does not implement permissions boundaries.');
}

/** IAM's Description limit (CreateRole, CreatePolicy), in characters. */
const MAX_DESCRIPTION_CHARS = 1000;
/** CreateRole's Description pattern: tab, LF, CR, printable ASCII and Latin-1 (CreatePolicy's has none). */
const ROLE_DESCRIPTION = /^[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*$/;

/** The Description parameter checked against IAM's constraints (ValidationError, as IAM answers); undefined when absent. */
function description(p: QueryParams, pattern?: RegExp): string | undefined {
  const v = p.optional('Description');
  if (v === undefined) return undefined;
  const at = `1 validation error detected: Value '${echoed(v)}' at 'description' failed to satisfy constraint: Member must`;
  if ([...v].length > MAX_DESCRIPTION_CHARS) throw new IamValidationError(`${at} have length less than or equal to ${MAX_DESCRIPTION_CHARS}`);
  if (pattern !== undefined && !pattern.test(v)) throw new IamValidationError(`${at} satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*`);
  return v;
}

function inlineRoutes(kind: PolicyOwnerKind, noun: 'User' | 'Role'): Record<string, QueryRoute> {
  const ownerParam = `${noun}Name`;
  const named = (p: QueryParams) => ({ owner: p.required(ownerParam), policyName: p.required('PolicyName') });
  return {
    [`Put${noun}Policy`]: queryRoute({
      service: 'iam',
      action: `iam:Put${noun}Policy`,
      readOnly: false,
      parse: (p) => ({ ...named(p), document: p.required('PolicyDocument') }),
      resource: (r, a, d) => ownerArn(d, kind, a, r.owner),
      operate: (d, r) => putInlinePolicy(d, kind, r.owner, r.policyName, r.document),
      respond: () => undefined,
    }),
    [`Get${noun}Policy`]: queryRoute({
      service: 'iam',
      action: `iam:Get${noun}Policy`,
      readOnly: true,
      parse: named,
      resource: (r, a, d) => ownerArn(d, kind, a, r.owner),
      operate: async (d, r) => ({ ...r, document: await getInlinePolicy(d, kind, r.owner, r.policyName) }),
      respond: (r) => ({ [ownerParam]: r.owner, PolicyName: r.policyName, PolicyDocument: encodeURIComponent(r.document) }),
    }),
    [`Delete${noun}Policy`]: queryRoute({
      service: 'iam',
      action: `iam:Delete${noun}Policy`,
      readOnly: false,
      parse: named,
      resource: (r, a, d) => ownerArn(d, kind, a, r.owner),
      operate: (d, r) => deleteInlinePolicy(d, kind, r.owner, r.policyName),
      respond: () => undefined,
    }),
    [`Attach${noun}Policy`]: queryRoute({
      service: 'iam',
      action: `iam:Attach${noun}Policy`,
      readOnly: false,
      // A PolicyArn not of a policy ARN's form is InvalidInput before the owner is looked up, as on GetPolicy.
      parse: (p) => ({ owner: p.required(ownerParam), policyArn: policyArnParam(p) }),
      resource: (r, a, d) => ownerArn(d, kind, a, r.owner),
      operate: (d, r) => attachPolicy(d, kind, r.owner, r.policyArn),
      respond: () => undefined,
    }),
    [`Detach${noun}Policy`]: queryRoute({
      service: 'iam',
      action: `iam:Detach${noun}Policy`,
      readOnly: false,
      parse: (p) => ({ owner: p.required(ownerParam), policyArn: policyArnParam(p) }),
      resource: (r, a, d) => ownerArn(d, kind, a, r.owner),
      operate: (d, r) => detachPolicy(d, kind, r.owner, r.policyArn),
      respond: () => undefined,
    }),
    [`ListAttached${noun}Policies`]: queryRoute({
      service: 'iam',
      action: `iam:ListAttached${noun}Policies`,
      readOnly: true,
      // PathPrefix is policyPathType here, as for ListPolicies (botocore's iam service-2.json), and filters by the policy's path.
      parse: (p) => ({ owner: p.required(ownerParam), pathPrefix: pathPrefixParam(p, POLICY_PATH_PREFIX) ?? '/', maxItems: p.maxItems(), marker: p.optional('Marker') }),
      resource: (r, a, d) => ownerArn(d, kind, a, r.owner),
      operate: async (d, r) => {
        const attached = (await listAttachedPolicies(d, kind, r.owner)).filter((p) => p.path.startsWith(r.pathPrefix));
        return iamPage(attached, (p) => p.arn, r.maxItems, r.marker);
      },
      respond: (page) => ({ AttachedPolicies: page.items.map((p) => ({ PolicyName: p.policyName, PolicyArn: p.arn })), ...pageFields(page) }),
    }),
  };
}

const userRoutes: Record<string, QueryRoute> = {
  CreateUser: queryRoute({
    service: 'iam',
    action: 'iam:CreateUser',
    readOnly: false,
    parse: (p) => {
      refuseBoundary(p);
      return { userName: p.required('UserName'), ...(p.optional('Path') !== undefined ? { path: p.required('Path') } : {}), tags: tagsParam(p, false) };
    },
    resource: (r, a) => createdArn(a, 'user', r.path, r.userName),
    facts: (r) => (r.tags.length === 0 ? {} : requestTagFacts(r.tags)),
    operate: (d, r) => createUser(d, r),
    respond: (u) => ({ User: taggedUserXml(u) }),
  }),
  GetUser: queryRoute({
    service: 'iam',
    action: 'iam:GetUser',
    readOnly: true,
    parse: (p, call) => ({ userName: call.principal.type === 'Root' && p.optional('UserName') === undefined ? undefined : userOrSelf(p, call) }),
    resource: (r, a, d) => (r.userName === undefined ? `arn:aws:iam::${a}:root` : ownerArn(d, 'user', a, r.userName)),
    operate: async (d, r, call) => (r.userName === undefined ? { UserId: d.accountId, Arn: call.principal.arn } : taggedUserXml(await getUser(d, r.userName))),
    respond: (u) => ({ User: u }),
  }),
  ListUsers: queryRoute({
    service: 'iam',
    action: 'iam:ListUsers',
    readOnly: true,
    parse: pathPage,
    resource: (_r, a) => `arn:aws:iam::${a}:user/`,
    operate: async (d, r) => iamPage(await listUsers(d, r), (u) => u.userName, r.maxItems, r.marker),
    respond: (page) => ({ Users: page.items.map(userXml), ...pageFields(page) }),
  }),
  DeleteUser: queryRoute({
    service: 'iam',
    action: 'iam:DeleteUser',
    readOnly: false,
    parse: (p) => ({ userName: p.required('UserName') }),
    resource: (r, a, d) => ownerArn(d, 'user', a, r.userName),
    operate: (d, r) => deleteUser(d, r.userName),
    respond: () => undefined,
  }),
  CreateAccessKey: queryRoute({
    service: 'iam',
    action: 'iam:CreateAccessKey',
    readOnly: false,
    parse: (p, call) => ({ userName: userOrSelf(p, call) }),
    resource: (r, a, d) => ownerArn(d, 'user', a, r.userName),
    operate: (d, r) => createAccessKey(d, r.userName),
    respond: ({ record, secretAccessKey }) => ({ AccessKey: { ...accessKeyXml(record), SecretAccessKey: secretAccessKey } }),
  }),
  ListAccessKeys: queryRoute({
    service: 'iam',
    action: 'iam:ListAccessKeys',
    readOnly: true,
    parse: (p, call) => ({ userName: userOrSelf(p, call), maxItems: p.maxItems(), marker: p.optional('Marker') }),
    resource: (r, a, d) => ownerArn(d, 'user', a, r.userName),
    operate: async (d, r) => iamPage(await listAccessKeys(d, r.userName), (k) => k.accessKeyId, r.maxItems, r.marker),
    respond: (page) => ({ AccessKeyMetadata: page.items.map(accessKeyXml), ...pageFields(page) }),
  }),
  UpdateAccessKey: queryRoute({
    service: 'iam',
    action: 'iam:UpdateAccessKey',
    readOnly: false,
    parse: (p, call) => ({ userName: userOrSelf(p, call), accessKeyId: p.required('AccessKeyId'), status: p.oneOf('Status', ['Active', 'Inactive'] as const) }),
    resource: (r, a, d) => ownerArn(d, 'user', a, r.userName),
    operate: (d, r) => updateAccessKey(d, r.userName, r.accessKeyId, r.status),
    respond: () => undefined,
  }),
  DeleteAccessKey: queryRoute({
    service: 'iam',
    action: 'iam:DeleteAccessKey',
    readOnly: false,
    parse: (p, call) => ({ userName: userOrSelf(p, call), accessKeyId: p.required('AccessKeyId') }),
    resource: (r, a, d) => ownerArn(d, 'user', a, r.userName),
    operate: (d, r) => deleteAccessKey(d, r.userName, r.accessKeyId),
    respond: () => undefined,
  }),
};

const roleRoutes: Record<string, QueryRoute> = {
  CreateRole: queryRoute({
    service: 'iam',
    action: 'iam:CreateRole',
    readOnly: false,
    parse: (p) => {
      refuseBoundary(p);
      const path = p.optional('Path');
      const text = description(p, ROLE_DESCRIPTION);
      const maxSessionDuration = p.integer('MaxSessionDuration');
      return {
        roleName: p.required('RoleName'),
        trustPolicy: p.required('AssumeRolePolicyDocument'),
        ...(path !== undefined ? { path } : {}),
        ...(text !== undefined ? { description: text } : {}),
        ...(maxSessionDuration !== undefined ? { maxSessionDuration } : {}),
        tags: tagsParam(p, false),
      };
    },
    resource: (r, a) => createdArn(a, 'role', r.path, r.roleName),
    facts: (r) => (r.tags.length === 0 ? {} : requestTagFacts(r.tags)),
    operate: (d, r) => createRole(d, r),
    respond: (role) => ({ Role: taggedRoleXml(role) }),
  }),
  GetRole: queryRoute({
    service: 'iam',
    action: 'iam:GetRole',
    readOnly: true,
    parse: (p) => ({ roleName: p.required('RoleName') }),
    resource: (r, a, d) => ownerArn(d, 'role', a, r.roleName),
    operate: (d, r) => getRole(d, r.roleName),
    respond: (role) => ({ Role: taggedRoleXml(role) }),
  }),
  ListRoles: queryRoute({
    service: 'iam',
    action: 'iam:ListRoles',
    readOnly: true,
    parse: pathPage,
    resource: (_r, a) => `arn:aws:iam::${a}:role/`,
    operate: async (d, r) => iamPage(await listRoles(d, r), (role) => role.roleName, r.maxItems, r.marker),
    respond: (page) => ({ Roles: page.items.map(roleXml), ...pageFields(page) }),
  }),
  DeleteRole: queryRoute({
    service: 'iam',
    action: 'iam:DeleteRole',
    readOnly: false,
    parse: (p) => ({ roleName: p.required('RoleName') }),
    resource: (r, a, d) => ownerArn(d, 'role', a, r.roleName),
    operate: (d, r) => deleteRole(d, r.roleName),
    respond: () => undefined,
  }),
};

const managedRoutes: Record<string, QueryRoute> = {
  CreatePolicy: queryRoute({
    service: 'iam',
    action: 'iam:CreatePolicy',
    readOnly: false,
    parse: (p) => {
      const path = p.optional('Path');
      const text = description(p);
      return { policyName: p.required('PolicyName'), document: p.required('PolicyDocument'), ...(path !== undefined ? { path } : {}), ...(text !== undefined ? { description: text } : {}) };
    },
    resource: (r, a) => createdArn(a, 'policy', r.path, r.policyName),
    operate: (d, r) => createManagedPolicy(d, r),
    respond: (p) => ({ Policy: policyXml(p) }),
  }),
  GetPolicy: queryRoute({
    service: 'iam',
    action: 'iam:GetPolicy',
    readOnly: true,
    parse: (p) => ({ policyArn: policyArnParam(p) }),
    resource: (r) => r.policyArn,
    operate: async (d, r) => ({ policy: await getManagedPolicy(d, r.policyArn), count: await d.store.countAttachments(r.policyArn) }),
    respond: (r) => ({ Policy: policyXml(r.policy, r.count) }),
  }),
  DeletePolicy: queryRoute({
    service: 'iam',
    action: 'iam:DeletePolicy',
    readOnly: false,
    parse: (p) => ({ policyArn: policyArnParam(p) }),
    resource: (r) => r.policyArn,
    operate: (d, r) => deleteManagedPolicy(d, r.policyArn),
    respond: () => undefined,
  }),
};

/** The IAM actions served, by Action parameter. */
export const IAM_ROUTES: Readonly<Record<string, QueryRoute>> = {
  ...userRoutes,
  ...roleRoutes,
  ...managedRoutes,
  ...inlineRoutes('user', 'User'),
  ...inlineRoutes('role', 'Role'),
  ...IAM_POLICY_ROUTES,
  ...IAM_TAG_ROUTES,
};
