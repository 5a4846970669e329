import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ec2 } from '../volumes/ec2-raw.js';
import { at, errorCode, queryRequest, type QueryCredentials } from '../iam/query-client.js';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256, rawKmsRequest } from '../helpers/signed-request.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

// EC2, IAM and STS records list the resources their request names (and, for a create, what it
// created), as CloudTrail's do, so that LookupEvents by ResourceName / ResourceType finds them.

const TARGET = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents';
const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const INSTANCE = 'i-0123456789abcdef0';

interface LookupEvent {
  EventName: string;
  EventSource: string;
  Resources: { ResourceType: string; ResourceName: string }[];
  CloudTrailEvent: string;
}

interface Found {
  readonly name: string;
  readonly errorCode: string | undefined;
  readonly resources: LookupEvent['Resources'];
}

describe('LookupEvents by the resources of EC2, IAM and STS records', () => {
  let t: TestServer;
  let volumeId = '';
  let otherVolumeId = '';
  let snapshotId = '';
  let alice: QueryCredentials;
  const volumeArn = (id: string): string => `arn:aws:ec2:${REGION}:${ACCOUNT}:volume/${id}`;
  const roleArn = `arn:aws:iam::${ACCOUNT}:role/reader`;
  const lockedRoleArn = `arn:aws:iam::${ACCOUNT}:role/locked`;

  /** Every page of LookupEvents for one attribute (through the CloudTrail JSON 1.1 API, signed as the SDKs sign it). */
  async function lookup(key: string, value: string): Promise<Found[]> {
    const found: Found[] = [];
    let next: unknown;
    do {
      const body = { LookupAttributes: [{ AttributeKey: key, AttributeValue: value }], MaxResults: 50, ...(next !== undefined ? { NextToken: next } : {}) };
      const r = await rawKmsRequest(t.endpoint, { target: TARGET, service: 'cloudtrail', body: JSON.stringify(body) });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      for (const e of r.json['Events'] as LookupEvent[]) {
        const record = JSON.parse(e.CloudTrailEvent) as { errorCode?: string };
        found.push({ name: e.EventName, errorCode: record.errorCode, resources: e.Resources });
      }
      next = r.json['NextToken'];
    } while (next !== undefined);
    return found;
  }

  const names = (found: readonly Found[]): string[] => found.map((f) => `${f.name}${f.errorCode !== undefined ? `:${f.errorCode}` : ''}`).sort();

  async function ec2Ok(action: string, params: Record<string, string>): Promise<Record<string, unknown>> {
    const r = await ec2(t.endpoint, action, params);
    assert.equal(r.status, 200, r.text);
    return r.body;
  }

  /** One EC2 Query request signed with `as`'s credentials (ec2-raw signs as the root only). */
  async function ec2As(as: QueryCredentials, action: string, params: Record<string, string>): Promise<{ status: number; text: string }> {
    const url = new URL(t.endpoint);
    const body = new URLSearchParams({ Action: action, Version: '2016-11-15', ...params }).toString();
    const signer = new SignatureV4({ credentials: as, region: REGION, service: 'ec2', sha256: NodeSha256 });
    const headers = { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };
    const signed = await signer.sign({ method: 'POST', protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: '/', query: {}, headers, body });
    const { host: _host, ...send } = signed.headers as Record<string, string>;
    const res = await fetch(new URL('/', t.endpoint), { method: 'POST', headers: send, body });
    return { status: res.status, text: await res.text() };
  }

  async function iamOk(service: 'iam' | 'sts', params: Record<string, string>, as?: QueryCredentials): Promise<Record<string, unknown>> {
    const r = await queryRequest(t.endpoint, service, params, as);
    assert.equal(r.status, 200, r.text);
    return r.xml;
  }

  before(async () => {
    t = await startTestServer();
    volumeId = String((await ec2Ok('CreateVolume', { Size: '1', AvailabilityZone: 'us-east-1a' }))['volumeId']);
    otherVolumeId = String((await ec2Ok('CreateVolume', { Size: '1', AvailabilityZone: 'us-east-1a' }))['volumeId']);
    await ec2Ok('AttachVolume', { VolumeId: volumeId, InstanceId: INSTANCE, Device: '/dev/sdf' });
    await ec2Ok('DetachVolume', { VolumeId: volumeId });
    snapshotId = String((await ec2Ok('CreateSnapshot', { VolumeId: volumeId }))['snapshotId']);
    await ec2Ok('DeleteVolume', { VolumeId: volumeId });

    await iamOk('iam', { Action: 'CreateUser', UserName: 'alice' });
    const key = await iamOk('iam', { Action: 'CreateAccessKey', UserName: 'alice' });
    alice = {
      accessKeyId: at(key, 'CreateAccessKeyResponse', 'CreateAccessKeyResult', 'AccessKey', 'AccessKeyId'),
      secretAccessKey: at(key, 'CreateAccessKeyResponse', 'CreateAccessKeyResult', 'AccessKey', 'SecretAccessKey'),
    };
    // Alice may describe volumes and assume roles, nothing else.
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['ec2:DescribeVolumes', 'sts:AssumeRole'], Resource: '*' }] });
    await iamOk('iam', { Action: 'PutUserPolicy', UserName: 'alice', PolicyName: 'narrow', PolicyDocument: policy });
    await iamOk('iam', { Action: 'CreateUser', UserName: 'bob' });
    const trust = (who: string): string => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: who }, Action: 'sts:AssumeRole' }] });
    await iamOk('iam', { Action: 'CreateRole', RoleName: 'reader', AssumeRolePolicyDocument: trust(`arn:aws:iam::${ACCOUNT}:user/alice`) });
    await iamOk('iam', { Action: 'CreateRole', RoleName: 'locked', AssumeRolePolicyDocument: trust(`arn:aws:iam::${ACCOUNT}:user/bob`) });
    await iamOk('sts', { Action: 'AssumeRole', RoleArn: roleArn, RoleSessionName: 's1' }, alice);

    // Denied: alice may not delete a volume, nor assume a role that does not trust her, nor write bob's policy.
    const deniedDelete = await ec2As(alice, 'DeleteVolume', { VolumeId: otherVolumeId });
    assert.equal(deniedDelete.status, 403, deniedDelete.text);
    const denied = await queryRequest(t.endpoint, 'sts', { Action: 'AssumeRole', RoleArn: lockedRoleArn, RoleSessionName: 's2' }, alice);
    assert.equal(errorCode(denied), 'AccessDenied');
    const deniedUser = await queryRequest(t.endpoint, 'iam', { Action: 'PutUserPolicy', UserName: 'bob', PolicyName: 'p', PolicyDocument: policy }, alice);
    assert.equal(errorCode(deniedUser), 'AccessDenied');
  });

  after(async () => {
    await t.close();
  });

  it('a volume id and its ARN find the CreateVolume, AttachVolume, DetachVolume, CreateSnapshot and DeleteVolume records, and no other volume\'s', async () => {
    const expected = ['AttachVolume', 'CreateSnapshot', 'CreateVolume', 'DeleteVolume', 'DetachVolume'];
    const byId = await lookup('ResourceName', volumeId);
    assert.deepEqual(names(byId), expected);
    assert.deepEqual(names(await lookup('ResourceName', volumeArn(volumeId))), expected);
    const create = byId.find((f) => f.name === 'CreateVolume');
    assert.deepEqual(create?.resources, [{ ResourceType: 'AWS::EC2::Volume', ResourceName: volumeArn(volumeId) }]);
    const attach = byId.find((f) => f.name === 'AttachVolume');
    assert.deepEqual(attach?.resources, [
      { ResourceType: 'AWS::EC2::Volume', ResourceName: volumeArn(volumeId) },
      { ResourceType: 'AWS::EC2::Instance', ResourceName: `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${INSTANCE}` },
    ]);
    const snapshot = byId.find((f) => f.name === 'CreateSnapshot');
    assert.deepEqual(snapshot?.resources, [
      { ResourceType: 'AWS::EC2::Volume', ResourceName: volumeArn(volumeId) },
      { ResourceType: 'AWS::EC2::Snapshot', ResourceName: `arn:aws:ec2:${REGION}:${ACCOUNT}:snapshot/${snapshotId}` },
    ]);
    // The other volume's records name only it.
    const others = await lookup('ResourceName', otherVolumeId);
    assert.ok(others.some((f) => f.name === 'CreateVolume'), 'the other volume has records to look at');
    for (const f of others) {
      assert.ok(f.resources.every((r) => !r.ResourceName.endsWith(volumeId)), f.name);
    }
  });

  it('a snapshot id finds its CreateSnapshot record only', async () => {
    assert.deepEqual(names(await lookup('ResourceName', snapshotId)), ['CreateSnapshot']);
  });

  it('a user name finds CreateUser, CreateAccessKey and PutUserPolicy, allowed and denied; the access key id finds its creation', async () => {
    assert.deepEqual(names(await lookup('ResourceName', 'alice')), ['CreateAccessKey', 'CreateUser', 'PutUserPolicy']);
    assert.deepEqual(names(await lookup('ResourceName', 'bob')), ['CreateUser', 'PutUserPolicy:AccessDenied']);
    const byKey = await lookup('ResourceName', alice.accessKeyId);
    const created = byKey.filter((f) => f.name === 'CreateAccessKey');
    assert.equal(created.length, 1);
    assert.deepEqual(created[0]?.resources, [
      { ResourceType: 'AWS::IAM::User', ResourceName: `arn:aws:iam::${ACCOUNT}:user/alice` },
      { ResourceType: 'AWS::IAM::AccessKey', ResourceName: alice.accessKeyId },
    ]);
  });

  it('a role ARN finds its CreateRole and AssumeRole records, allowed and denied, and not another role\'s', async () => {
    const reader = await lookup('ResourceName', roleArn);
    assert.deepEqual(names(reader), ['AssumeRole', 'CreateRole']);
    const assumed = reader.find((f) => f.name === 'AssumeRole');
    assert.deepEqual(assumed?.resources, [{ ResourceType: 'AWS::IAM::Role', ResourceName: roleArn }]);
    assert.deepEqual(names(await lookup('ResourceName', lockedRoleArn)), ['AssumeRole:AccessDenied', 'CreateRole']);
    assert.deepEqual(names(await lookup('ResourceName', 'locked')), ['AssumeRole:AccessDenied', 'CreateRole']);
  });

  it('a denied EC2 call lists the volume its request names', async () => {
    const found = await lookup('ResourceName', otherVolumeId);
    assert.deepEqual(names(found), ['CreateVolume', 'DeleteVolume:UnauthorizedOperation']);
    assert.deepEqual(found.find((f) => f.name === 'DeleteVolume')?.resources, [{ ResourceType: 'AWS::EC2::Volume', ResourceName: volumeArn(otherVolumeId) }]);
  });

  it('a failed call lists what its request names; an unparsable one, or a parameter its action does not read, files nothing', async () => {
    const missing = 'vol-0000000000000dead';
    const notFound = await ec2(t.endpoint, 'DeleteVolume', { VolumeId: missing });
    assert.equal(notFound.code, 'InvalidVolume.NotFound');
    assert.deepEqual(names(await lookup('ResourceName', missing)), ['DeleteVolume:InvalidVolume.NotFound']);
    const malformed = await ec2(t.endpoint, 'DeleteVolume', { VolumeId: 'vol-not-an-id' });
    assert.equal(malformed.status, 400);
    // CreateVolume does not read VolumeId, nor CreateUser AccessKeyId or PolicyArn: the record names only what was created.
    const carolVolume = String((await ec2Ok('CreateVolume', { Size: '1', AvailabilityZone: 'us-east-1a', VolumeId: otherVolumeId }))['volumeId']);
    await iamOk('iam', { Action: 'CreateUser', UserName: 'carol', AccessKeyId: alice.accessKeyId, PolicyArn: `arn:aws:iam::${ACCOUNT}:policy/p` });
    assert.deepEqual(await lookup('ResourceName', 'vol-not-an-id'), []);
    assert.deepEqual(names(await lookup('ResourceName', otherVolumeId)), ['CreateVolume', 'DeleteVolume:UnauthorizedOperation']);
    assert.deepEqual(names(await lookup('ResourceName', carolVolume)), ['CreateVolume']);
    assert.deepEqual(names(await lookup('ResourceName', alice.accessKeyId)).filter((n) => n === 'CreateUser'), []);
    assert.deepEqual(names(await lookup('ResourceName', 'carol')), ['CreateUser']);
  });

  it('ResourceType filters: AWS::EC2::Snapshot, AWS::IAM::Role, AWS::IAM::User', async () => {
    assert.deepEqual(names(await lookup('ResourceType', 'AWS::EC2::Snapshot')), ['CreateSnapshot']);
    assert.deepEqual(names(await lookup('ResourceType', 'AWS::IAM::Role')), ['AssumeRole', 'AssumeRole:AccessDenied', 'CreateRole', 'CreateRole']);
    const users = await lookup('ResourceType', 'AWS::IAM::User');
    assert.ok(users.every((f) => f.resources.some((r) => r.ResourceType === 'AWS::IAM::User')));
    assert.deepEqual([...new Set(names(users))], ['CreateAccessKey', 'CreateUser', 'PutUserPolicy', 'PutUserPolicy:AccessDenied']);
    assert.deepEqual(names(await lookup('ResourceType', 'AWS::EC2::Instance')), ['AttachVolume', 'DetachVolume']);
  });

  it('an unvalidated id that is not of its kind\'s form (an InstanceId naming a volume, an AccessKeyId that is a volume id) files nothing under what it spells', async () => {
    const missing = 'vol-0000000000000beef';
    const attach = await ec2(t.endpoint, 'AttachVolume', { VolumeId: missing, InstanceId: `x/${otherVolumeId}`, Device: '/dev/sdf' });
    assert.equal(attach.code, 'InvalidParameterValue');
    const attachVolume = await ec2(t.endpoint, 'AttachVolume', { VolumeId: missing, InstanceId: otherVolumeId, Device: '/dev/sdf' });
    assert.equal(attachVolume.code, 'InvalidParameterValue');
    const update = await queryRequest(t.endpoint, 'iam', { Action: 'UpdateAccessKey', UserName: 'alice', AccessKeyId: otherVolumeId, Status: 'Inactive' });
    assert.notEqual(update.status, 200, update.text);
    // The records exist, under what the requests did name.
    assert.deepEqual(names(await lookup('ResourceName', missing)), ['AttachVolume:InvalidParameterValue', 'AttachVolume:InvalidParameterValue']);
    assert.deepEqual(names(await lookup('ResourceName', otherVolumeId)), ['CreateVolume', 'DeleteVolume:UnauthorizedOperation']);
    assert.deepEqual(names(await lookup('ResourceType', 'AWS::EC2::Instance')), ['AttachVolume', 'DetachVolume']);
  });
});
