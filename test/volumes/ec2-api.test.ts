import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CreateAliasCommand, CreateKeyCommand, DisableKeyCommand, EnableKeyCommand } from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { ec2, items, type Ec2Answer } from './ec2-raw.js';

type Json = Record<string, unknown>;

describe('EC2 volume API (raw signed Query requests)', () => {
  let t: TestServer;
  let keyA: string;
  let keyB: string;
  const call = (action: string, params: Record<string, string> = {}): Promise<Ec2Answer> => ec2(t.endpoint, action, params);
  const ok = async (action: string, params: Record<string, string> = {}): Promise<Json> => {
    const r = await call(action, params);
    assert.equal(r.status, 200, r.text);
    return r.body;
  };
  const failsWith = async (code: string, action: string, params: Record<string, string> = {}): Promise<void> => {
    const r = await call(action, params);
    assert.equal(r.code, code, r.text);
    assert.ok(r.status >= 400);
    assert.match(r.text, /<RequestID>[0-9a-f-]{36}<\/RequestID>/);
  };
  const volume = (params: Record<string, string> = {}): Promise<Json> => ok('CreateVolume', { Size: '1', AvailabilityZone: 'us-east-1a', ...params });

  before(async () => {
    t = await startTestServer();
    const kms = t.kms();
    keyA = (await kms.send(new CreateKeyCommand({ Description: 'volumes A' }))).KeyMetadata?.Arn ?? '';
    keyB = (await kms.send(new CreateKeyCommand({ Description: 'volumes B' }))).KeyMetadata?.Arn ?? '';
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/volumes-b', TargetKeyId: keyB }));
  });
  after(async () => {
    await t.close();
  });

  it('answers in the EC2 namespace with a requestId', async () => {
    const r = await call('GetEbsEncryptionByDefault');
    assert.match(r.text, /<GetEbsEncryptionByDefaultResponse xmlns="http:\/\/ec2\.amazonaws\.com\/doc\/2016-11-15\/"><requestId>[0-9a-f-]{36}<\/requestId>/);
    assert.equal(r.body.ebsEncryptionByDefault, 'false');
  });

  it('filters DescribeVolumes by tag and status, and pages it', async () => {
    const tagged = await volume({ KmsKeyId: keyA, 'TagSpecification.1.ResourceType': 'volume', 'TagSpecification.1.Tag.1.Key': 'team', 'TagSpecification.1.Tag.1.Value': 'ml' });
    for (let i = 0; i < 5; i++) await volume({ KmsKeyId: 'alias/volumes-b' });
    const byTag = items(await ok('DescribeVolumes', { 'Filter.1.Name': 'tag:team', 'Filter.1.Value.1': 'm*', 'Filter.2.Name': 'status', 'Filter.2.Value.1': 'available' }), 'volumeSet');
    assert.deepEqual(byTag.map((v) => v.volumeId), [tagged.volumeId]);
    assert.deepEqual(items(await ok('DescribeVolumes', { 'Filter.1.Name': 'tag:team', 'Filter.1.Value.1': 'other' }), 'volumeSet'), []);
    const byKey = items(await ok('DescribeVolumes', { 'Filter.1.Name': 'kms-key-id', 'Filter.1.Value.1': keyB }), 'volumeSet');
    assert.equal(byKey.length, 5);
    const all = items(await ok('DescribeVolumes'), 'volumeSet').map((v) => v.volumeId);
    const first = await ok('DescribeVolumes', { MaxResults: '5' });
    assert.equal(items(first, 'volumeSet').length, 5);
    const rest = await ok('DescribeVolumes', { MaxResults: '5', NextToken: String(first.nextToken) });
    assert.equal(rest.nextToken, undefined);
    assert.deepEqual([...items(first, 'volumeSet'), ...items(rest, 'volumeSet')].map((v) => v.volumeId), all);
    await failsWith('InvalidParameterValue', 'DescribeVolumes', { 'Filter.1.Name': 'bogus', 'Filter.1.Value.1': 'x' });
    await failsWith('InvalidParameterValue', 'DescribeVolumes', { MaxResults: '5', NextToken: 'garbage' });
  });

  it('restores a snapshot copy into a larger volume under the copy key', async () => {
    const v = await volume({ KmsKeyId: keyA });
    const s = await ok('CreateSnapshot', { VolumeId: String(v.volumeId) });
    assert.equal(s.kmsKeyId, keyA);
    const copy = await ok('CopySnapshot', { SourceSnapshotId: String(s.snapshotId), SourceRegion: 'us-east-1', KmsKeyId: 'alias/volumes-b' });
    const restored = await volume({ SnapshotId: String(copy.snapshotId), Size: '2' });
    assert.equal(restored.kmsKeyId, keyB);
    assert.equal(restored.size, '2');
    assert.equal(restored.snapshotId, copy.snapshotId);
    await failsWith('InvalidParameterValue', 'CopySnapshot', { SourceSnapshotId: String(s.snapshotId), SourceRegion: 'eu-west-1' });
    await failsWith('InvalidParameterValue', 'CreateVolume', { SnapshotId: String(copy.snapshotId), Size: '0', AvailabilityZone: 'us-east-1a' });
  });

  it('answers EC2 error codes', async () => {
    await failsWith('InvalidVolume.NotFound', 'DescribeVolumes', { 'VolumeId.1': 'vol-0123456789abcdef0' });
    await failsWith('MissingParameter', 'CreateVolume', { AvailabilityZone: 'us-east-1a' });
    await failsWith('MissingParameter', 'DeleteVolume');
    await failsWith('InvalidKMSKey.NotFound', 'CreateVolume', { Size: '1', AvailabilityZone: 'us-east-1a', KmsKeyId: 'alias/nope' });
    await failsWith('InvalidParameterValue', 'CreateVolume', { Size: '0', AvailabilityZone: 'us-east-1a' });
    await failsWith('InvalidParameterValue', 'CreateVolume', { Size: '1', AvailabilityZone: 'us-east-1a', VolumeType: 'floppy' });
    await failsWith('InvalidParameterValue', 'CreateVolume', { Size: '1', AvailabilityZone: 'us-east-1a', Encrypted: 'maybe' });
    await failsWith('InvalidVolume.NotFound', 'CreateSnapshot', { VolumeId: 'vol-0123456789abcdef0' });
    await failsWith('InvalidSnapshot.NotFound', 'CopySnapshot', { SourceSnapshotId: 'snap-0123456789abcdef0', SourceRegion: 'us-east-1' });
    await failsWith('InvalidSnapshot.NotFound', 'CreateVolume', { SnapshotId: 'snap-0123456789abcdef0', AvailabilityZone: 'us-east-1a' });
    await failsWith('InvalidSnapshot.NotFound', 'DeleteSnapshot', { SnapshotId: 'snap-0123456789abcdef0' });
    await failsWith('DryRunOperation', 'CreateVolume', { Size: '1', AvailabilityZone: 'us-east-1a', DryRun: 'true' });
    await failsWith('InvalidAction', 'DescribeInstances');
    await failsWith('InvalidKMSKey.NotFound', 'ModifyEbsDefaultKmsKeyId', { KmsKeyId: 'alias/nope' });
    await failsWith('InvalidParameterValue', 'AttachVolume', { VolumeId: 'vol-0123456789abcdef0', InstanceId: 'instance-1', Device: '/dev/sdf' });
  });

  it('CreateVolume requires a zone (EC2: "The request must contain the parameter zone"); a zone id is refused, never dropped', async () => {
    const before = items(await ok('DescribeVolumes'), 'volumeSet').length;
    for (const params of [{ Size: '1' }, { Size: '1', AvailabilityZone: '' }, { Size: '1', DryRun: 'true' }]) {
      const r = await call('CreateVolume', params);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.code, 'MissingParameter', r.text);
      assert.equal(r.message, 'The request must contain the parameter zone');
    }
    const both = await call('CreateVolume', { Size: '1', AvailabilityZone: 'us-east-1a', AvailabilityZoneId: 'use1-az1' });
    assert.equal(both.code, 'InvalidParameterCombination', both.text);
    const byId = await call('CreateVolume', { Size: '1', AvailabilityZoneId: 'use1-az1' });
    assert.equal(byId.code, 'InvalidParameterValue', byId.text);
    assert.match(byId.message ?? '', /^Value \(use1-az1\) for parameter availabilityZoneId is invalid/);
    assert.equal(items(await ok('DescribeVolumes'), 'volumeSet').length, before, 'no refused CreateVolume made a volume');
    const made = await volume({ AvailabilityZone: 'eu-west-1b' });
    assert.equal(made.availabilityZone, 'eu-west-1b');
    await ok('DeleteVolume', { VolumeId: String(made.volumeId) });
  });

  it('attach states: in-use cannot be deleted or attached twice; detached cannot be detached', async () => {
    const v = await volume({ KmsKeyId: keyA });
    const id = String(v.volumeId);
    const attached = await ok('AttachVolume', { VolumeId: id, InstanceId: 'i-0123456789abcdef0', Device: '/dev/sdf' });
    assert.equal(attached.status, 'attached');
    const nbd = attached.cipherlakeNbd as Json;
    assert.match(String(nbd.uri), new RegExp(`^nbds://${id}@127\\.0\\.0\\.1:\\d+/${id}$`));
    assert.match(String(nbd.pskKey), /^[0-9a-f]{64}$/);
    const view = items(await ok('DescribeVolumes', { 'VolumeId.1': id }), 'volumeSet')[0];
    assert.equal(view?.status, 'in-use');
    assert.equal(items(view ?? {}, 'attachmentSet')[0]?.instanceId, 'i-0123456789abcdef0');
    await failsWith('VolumeInUse', 'DeleteVolume', { VolumeId: id });
    await failsWith('VolumeInUse', 'AttachVolume', { VolumeId: id, InstanceId: 'i-0123456789abcdef0', Device: '/dev/sdg' });
    await failsWith('IncorrectState', 'DetachVolume', { VolumeId: id, InstanceId: 'i-00000000000000000' });
    assert.equal((await ok('DetachVolume', { VolumeId: id })).status, 'detached');
    await failsWith('IncorrectState', 'DetachVolume', { VolumeId: id });
    await ok('DeleteVolume', { VolumeId: id });
  });

  it('a disabled key refuses new volumes, snapshots of detached volumes, and attachments', async () => {
    const kms = t.kms();
    const v = await volume({ KmsKeyId: keyA });
    await kms.send(new DisableKeyCommand({ KeyId: keyA }));
    try {
      await failsWith('InvalidKMSKey.InvalidState', 'CreateVolume', { Size: '1', AvailabilityZone: 'us-east-1a', KmsKeyId: keyA });
      await failsWith('InvalidKMSKey.InvalidState', 'AttachVolume', { VolumeId: String(v.volumeId), InstanceId: 'i-0123456789abcdef0', Device: '/dev/sdf' });
      await failsWith('InvalidKMSKey.InvalidState', 'CreateSnapshot', { VolumeId: String(v.volumeId) });
    } finally {
      await kms.send(new EnableKeyCommand({ KeyId: keyA }));
    }
    await ok('AttachVolume', { VolumeId: String(v.volumeId), InstanceId: 'i-0123456789abcdef0', Device: '/dev/sdf' });
    await ok('DetachVolume', { VolumeId: String(v.volumeId) });
  });

  it('new volumes use the modified default key; Encrypted=false still encrypts', async () => {
    await ok('ModifyEbsDefaultKmsKeyId', { KmsKeyId: 'alias/volumes-b' });
    const v = await volume({ Encrypted: 'false' });
    assert.equal(v.encrypted, 'true');
    assert.equal(v.kmsKeyId, keyB);
    await ok('ResetEbsDefaultKmsKeyId');
    const ebs = await t.server.keys.resolve('alias/aws/ebs');
    assert.equal((await volume()).kmsKeyId, `arn:aws:kms:us-east-1:000000000000:key/${ebs.keyId}`);
  });

  it('refuses a bad signature with AuthFailure', async () => {
    const r = await fetch(t.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'AWS4-HMAC-SHA256 Credential=AKIATESTTESTTEST0001/20240101/us-east-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=00', 'x-amz-date': '20240101T000000Z' },
      body: 'Action=DescribeVolumes&Version=2016-11-15',
    });
    const text = await r.text();
    assert.ok(r.status >= 400);
    assert.match(text, /<Response><Errors><Error><Code>(AuthFailure|RequestExpired)<\/Code>/);
  });

  it("audits EC2 calls and the KMS calls made on the caller's behalf", async () => {
    const created = (await t.server.auditStore.lookup({ eventSource: 'ec2.amazonaws.com', eventName: 'CreateVolume', limit: 5 })).records[0]?.event;
    assert.ok(created, 'CreateVolume recorded');
    assert.equal(created.userIdentity.type, 'Root');
    assert.equal(created.readOnly, false);
    const event = (await t.server.auditStore.lookup({ eventSource: 'kms.amazonaws.com', eventName: 'GenerateDataKeyWithoutPlaintext', limit: 5 })).records[0]?.event;
    assert.ok(event, 'GenerateDataKeyWithoutPlaintext recorded');
    assert.equal(event.userIdentity.invokedBy, 'ec2.amazonaws.com');
    const context = (event.requestParameters as Json).encryptionContext as Json;
    assert.match(String(context['aws:ebs:id']), /^vol-[0-9a-f]{17}$/);
    const refused = await t.server.auditStore.lookup({ eventSource: 'kms.amazonaws.com', eventName: 'Decrypt', errorsOnly: true, limit: 5 });
    assert.ok(refused.records.length > 0, 'the refused Decrypt (disabled key) is recorded');
    const attach = await t.server.auditStore.lookup({ eventSource: 'ec2.amazonaws.com', eventName: 'AttachVolume', limit: 20 });
    assert.ok(attach.records.length > 0);
    assert.doesNotMatch(JSON.stringify(attach.records), /pskKey|cipherlakeNbd/);
  });
});
