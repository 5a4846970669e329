/** IAM entities in their XML response shapes (AWS spellings live only in wire/). */
import type { AccessKeyRecord, EntityTag, ManagedPolicyRecord, PolicyVersionRecord, RoleRecord, UserRecord } from '../identity-store.js';
import type { XmlValue } from './query.js';

type Xml = Readonly<Record<string, XmlValue>>;

/** A user as ListUsers lists it (no Tags: IAM leaves them out of list results). */
export function userXml(u: UserRecord): Xml {
  return { Path: u.path, UserName: u.userName, UserId: u.userId, Arn: u.arn, CreateDate: u.createdAt };
}

/** Tags as IAM answers them (`<Tags><member><Key/><Value/></member>…</Tags>`); undefined (no element) for none, as IAM omits it. */
export function tagsXml(tags: readonly EntityTag[]): XmlValue {
  return tags.length === 0 ? undefined : tags.map((t) => ({ Key: t.key, Value: t.value }));
}

/** A user as CreateUser and GetUser answer it: with its Tags. */
export function taggedUserXml(u: UserRecord): Xml {
  return { ...userXml(u), Tags: tagsXml(u.tags) };
}

/** A role as CreateRole and GetRole answer it: with its Tags. */
export function taggedRoleXml(r: RoleRecord): Xml {
  return { ...roleXml(r), Tags: tagsXml(r.tags) };
}

/** A role as ListRoles lists it (no Tags: IAM leaves them out of list results). */
export function roleXml(r: RoleRecord): Xml {
  return {
    Path: r.path,
    RoleName: r.roleName,
    RoleId: r.roleId,
    Arn: r.arn,
    CreateDate: r.createdAt,
    // IAM returns policy documents URL-encoded; the CLI and SDKs decode them.
    AssumeRolePolicyDocument: encodeURIComponent(r.trustPolicy),
    Description: r.description === '' ? undefined : r.description,
    MaxSessionDuration: r.maxSessionDuration,
  };
}

export function accessKeyXml(k: AccessKeyRecord): Xml {
  return { UserName: k.userName, AccessKeyId: k.accessKeyId, Status: k.status, CreateDate: k.createdAt };
}

export function policyXml(p: ManagedPolicyRecord, attachmentCount?: number): Xml {
  return {
    PolicyName: p.policyName,
    PolicyId: p.policyId,
    Arn: p.arn,
    Path: p.path,
    DefaultVersionId: p.defaultVersionId,
    AttachmentCount: attachmentCount ?? 0,
    IsAttachable: true,
    Description: p.description === '' ? undefined : p.description,
    CreateDate: p.createdAt,
    UpdateDate: p.updatedAt,
  };
}

/**
 * A managed policy as ListPolicies lists it: no Description or Tags (IAM leaves them out of
 * list results), and PermissionsBoundaryUsageCount, 0 as boundaries are not served.
 */
export function listedPolicyXml(p: ManagedPolicyRecord, attachmentCount: number): Xml {
  return {
    PolicyName: p.policyName,
    PolicyId: p.policyId,
    Arn: p.arn,
    Path: p.path,
    DefaultVersionId: p.defaultVersionId,
    AttachmentCount: attachmentCount,
    PermissionsBoundaryUsageCount: 0,
    IsAttachable: true,
    CreateDate: p.createdAt,
    UpdateDate: p.updatedAt,
  };
}

/** A policy version; its Document (URL-encoded, as IAM sends documents) only where IAM includes it (GetPolicyVersion). */
export function policyVersionXml(v: PolicyVersionRecord, withDocument: boolean): Xml {
  return {
    Document: withDocument ? encodeURIComponent(v.document) : undefined,
    VersionId: v.versionId,
    IsDefaultVersion: v.isDefault,
    CreateDate: v.createdAt,
  };
}
