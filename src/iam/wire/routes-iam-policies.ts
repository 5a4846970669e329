/**
 * IAM actions over policies beyond create/get/delete: ListPolicies, managed policy versions,
 * the inline policy name lists and UpdateAssumeRolePolicy. Shapes as botocore's iam model
 * (service-2.json, 2010-05-08) and the IAM API reference have them.
 */
import type { PolicyOwnerKind } from '../identity-store.js';
import { listInlinePolicyNames, listPolicies } from '../operations/policy-lists.js';
import { createPolicyVersion, deletePolicyVersion, getPolicyVersion, listPolicyVersions, setDefaultPolicyVersion } from '../operations/policy-versions.js';
import { updateAssumeRolePolicy } from '../operations/roles.js';
import { listedPolicyXml, policyVersionXml } from './entities.js';
import { iamPage, pageFields } from './paging.js';
import type { QueryParams } from './query.js';
import { queryRoute, type QueryRoute } from './route.js';
import { flagParam, optionalOneOf, ownerArn, pathPrefixParam, POLICY_PATH_PREFIX, policyArnParam, versionIdParam } from './route-params.js';

/** A page's parameters (MaxItems, Marker). */
const page = (p: QueryParams): { maxItems: number | undefined; marker: string | undefined } => ({ maxItems: p.maxItems(), marker: p.optional('Marker') });

/**
 * A paging key that orders versions newest first (v10 before v9): the version number's
 * distance from a bound no policy reaches, zero-padded. Not a version id: only markers carry it.
 */
function newestFirst(versionId: string): string {
  const n = Number(/^v(\d+)/.exec(versionId)?.[1] ?? 0);
  return String(Math.max(0, 999_999_999 - n)).padStart(9, '0');
}

const policyArnAndVersion = (p: QueryParams): { policyArn: string; versionId: string } => ({ policyArn: policyArnParam(p), versionId: versionIdParam(p) });

const versionRoutes: Record<string, QueryRoute> = {
  CreatePolicyVersion: queryRoute({
    service: 'iam',
    action: 'iam:CreatePolicyVersion',
    readOnly: false,
    parse: (p) => ({ policyArn: policyArnParam(p), document: p.required('PolicyDocument'), setAsDefault: flagParam(p, 'SetAsDefault') }),
    resource: (r) => r.policyArn,
    operate: (d, r) => createPolicyVersion(d, r.policyArn, r.document, r.setAsDefault),
    // CreatePolicyVersion answers the version without its document, as IAM does.
    respond: (v) => ({ PolicyVersion: policyVersionXml(v, false) }),
  }),
  GetPolicyVersion: queryRoute({
    service: 'iam',
    action: 'iam:GetPolicyVersion',
    readOnly: true,
    parse: policyArnAndVersion,
    resource: (r) => r.policyArn,
    operate: (d, r) => getPolicyVersion(d, r.policyArn, r.versionId),
    respond: (v) => ({ PolicyVersion: policyVersionXml(v, true) }),
  }),
  ListPolicyVersions: queryRoute({
    service: 'iam',
    action: 'iam:ListPolicyVersions',
    readOnly: true,
    parse: (p) => ({ policyArn: policyArnParam(p), ...page(p) }),
    resource: (r) => r.policyArn,
    operate: async (d, r) => iamPage(await listPolicyVersions(d, r.policyArn), (v) => newestFirst(v.versionId), r.maxItems, r.marker),
    respond: (pg) => ({ Versions: pg.items.map((v) => policyVersionXml(v, false)), ...pageFields(pg) }),
  }),
  DeletePolicyVersion: queryRoute({
    service: 'iam',
    action: 'iam:DeletePolicyVersion',
    readOnly: false,
    parse: policyArnAndVersion,
    resource: (r) => r.policyArn,
    operate: (d, r) => deletePolicyVersion(d, r.policyArn, r.versionId),
    respond: () => undefined,
  }),
  SetDefaultPolicyVersion: queryRoute({
    service: 'iam',
    action: 'iam:SetDefaultPolicyVersion',
    readOnly: false,
    parse: policyArnAndVersion,
    resource: (r) => r.policyArn,
    operate: (d, r) => setDefaultPolicyVersion(d, r.policyArn, r.versionId),
    respond: () => undefined,
  }),
};

const listRoutes: Record<string, QueryRoute> = {
  ListPolicies: queryRoute({
    service: 'iam',
    action: 'iam:ListPolicies',
    readOnly: true,
    parse: (p) => ({
      scope: optionalOneOf(p, 'Scope', ['All', 'AWS', 'Local'] as const) ?? 'All',
      onlyAttached: flagParam(p, 'OnlyAttached'),
      pathPrefix: pathPrefixParam(p, POLICY_PATH_PREFIX) ?? '/',
      usage: optionalOneOf(p, 'PolicyUsageFilter', ['PermissionsPolicy', 'PermissionsBoundary'] as const),
      ...page(p),
    }),
    // As ListUsers and ListRoles: the account's policy namespace, which names no one policy.
    resource: (_r, a) => `arn:aws:iam::${a}:policy/`,
    operate: async (d, r) => iamPage(await listPolicies(d, r), (l) => l.policy.arn, r.maxItems, r.marker),
    respond: (pg) => ({ Policies: pg.items.map((l) => listedPolicyXml(l.policy, l.attachmentCount)), ...pageFields(pg) }),
  }),
};

function inlineNameRoute(kind: PolicyOwnerKind, noun: 'User' | 'Role'): QueryRoute {
  return queryRoute({
    service: 'iam',
    action: `iam:List${noun}Policies`,
    readOnly: true,
    parse: (p) => ({ owner: p.required(`${noun}Name`), ...page(p) }),
    resource: (r, a, d) => ownerArn(d, kind, a, r.owner),
    operate: async (d, r) => iamPage(await listInlinePolicyNames(d, kind, r.owner), (name) => name, r.maxItems, r.marker),
    respond: (pg) => ({ PolicyNames: [...pg.items], ...pageFields(pg) }),
  });
}

/** The routes of this file, by Action, for IAM_ROUTES. */
export const IAM_POLICY_ROUTES: Readonly<Record<string, QueryRoute>> = {
  ...versionRoutes,
  ...listRoutes,
  ListUserPolicies: inlineNameRoute('user', 'User'),
  ListRolePolicies: inlineNameRoute('role', 'Role'),
  UpdateAssumeRolePolicy: queryRoute({
    service: 'iam',
    action: 'iam:UpdateAssumeRolePolicy',
    readOnly: false,
    parse: (p) => ({ roleName: p.required('RoleName'), document: p.required('PolicyDocument') }),
    resource: (r, a, d) => ownerArn(d, 'role', a, r.roleName),
    operate: (d, r) => updateAssumeRolePolicy(d, r.roleName, r.document),
    respond: () => undefined,
  }),
};
