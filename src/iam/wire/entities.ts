/** IAM entities in their XML response shapes (AWS spellings live only in wire/). */
import type { AccessKeyRecord, ManagedPolicyRecord, RoleRecord, UserRecord } from '../identity-store.js';
import type { XmlValue } from './query.js';

type Xml = Readonly<Record<string, XmlValue>>;

export function userXml(u: UserRecord): Xml {
  return { Path: u.path, UserName: u.userName, UserId: u.userId, Arn: u.arn, CreateDate: u.createdAt };
}

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
    DefaultVersionId: 'v1',
    AttachmentCount: attachmentCount ?? 0,
    IsAttachable: true,
    Description: p.description === '' ? undefined : p.description,
    CreateDate: p.createdAt,
    UpdateDate: p.updatedAt,
  };
}
