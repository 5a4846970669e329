import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CreateAliasCommand, CreateKeyCommand } from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { awsCli, type AwsResult } from './aws-cli.js';

type Json = Record<string, unknown>;

function ok(r: AwsResult): Json {
  assert.equal(r.code, 0, r.stderr);
  return r.json;
}

// Each `aws ec2` run loads the EC2 model (1–3 s here), so this file calls every action
// once; edge cases go through raw signed requests in ec2-api.test.ts.
describe('EC2 volume actions through the unmodified AWS CLI', () => {
  let t: TestServer;
  let cli: ReturnType<typeof awsCli>;
  let keyA: string;
  let keyB: string;

  before(async () => {
    t = await startTestServer();
    cli = awsCli(t.endpoint);
    const kms = t.kms();
    keyA = (await kms.send(new CreateKeyCommand({ Description: 'volumes A' }))).KeyMetadata?.Arn ?? '';
    keyB = (await kms.send(new CreateKeyCommand({ Description: 'volumes B' }))).KeyMetadata?.Arn ?? '';
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/volumes-b', TargetKeyId: keyB }));
  });
  after(async () => {
    cli.cleanup();
    await t.close();
  });

  it('create-volume, describe-volumes, create/copy/describe/delete-snapshot, delete-volume', async () => {
    const v = ok(await cli.aws('ec2', 'create-volume', '--size', '1', '--availability-zone', 'us-east-1a', '--encrypted', '--kms-key-id', keyA,
      '--tag-specifications', 'ResourceType=volume,Tags=[{Key=team,Value=ml}]'));
    assert.match(String(v.VolumeId), /^vol-[0-9a-f]{17}$/);
    assert.equal(v.Encrypted, true);
    assert.equal(v.KmsKeyId, keyA);
    const described = ok(await cli.aws('ec2', 'describe-volumes', '--filters', 'Name=tag:team,Values=ml')).Volumes as Json[];
    assert.deepEqual(described.map((x) => [x.VolumeId, x.State, x.Encrypted]), [[v.VolumeId, 'available', true]]);
    const s = ok(await cli.aws('ec2', 'create-snapshot', '--volume-id', String(v.VolumeId), '--description', 'nightly'));
    assert.equal(s.State, 'completed');
    assert.equal(s.KmsKeyId, keyA);
    const copy = ok(await cli.aws('ec2', 'copy-snapshot', '--source-snapshot-id', String(s.SnapshotId), '--source-region', 'us-east-1', '--encrypted', '--kms-key-id', 'alias/volumes-b'));
    const snaps = ok(await cli.aws('ec2', 'describe-snapshots', '--snapshot-ids', String(s.SnapshotId), String(copy.SnapshotId))).Snapshots as Json[];
    assert.deepEqual(snaps.map((x) => x.KmsKeyId).sort(), [keyA, keyB].sort());
    ok(await cli.aws('ec2', 'delete-snapshot', '--snapshot-id', String(s.SnapshotId)));
    ok(await cli.aws('ec2', 'delete-volume', '--volume-id', String(v.VolumeId)));
    const missing = await cli.aws('ec2', 'describe-volumes', '--volume-ids', String(v.VolumeId));
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /\(InvalidVolume\.NotFound\)/);
  });

  it('get/enable/disable-ebs-encryption-by-default', async () => {
    assert.equal(ok(await cli.aws('ec2', 'enable-ebs-encryption-by-default')).EbsEncryptionByDefault, true);
    assert.equal(ok(await cli.aws('ec2', 'get-ebs-encryption-by-default')).EbsEncryptionByDefault, true);
    assert.equal(ok(await cli.aws('ec2', 'disable-ebs-encryption-by-default')).EbsEncryptionByDefault, false);
  });

  it('get/modify/reset-ebs-default-kms-key-id', async () => {
    assert.equal(ok(await cli.aws('ec2', 'modify-ebs-default-kms-key-id', '--kms-key-id', 'alias/volumes-b')).KmsKeyId, keyB);
    assert.equal(ok(await cli.aws('ec2', 'get-ebs-default-kms-key-id')).KmsKeyId, keyB);
    const ebs = await t.server.keys.resolve('alias/aws/ebs').catch(() => undefined);
    const reset = ok(await cli.aws('ec2', 'reset-ebs-default-kms-key-id'));
    const created = ebs ?? (await t.server.keys.resolve('alias/aws/ebs'));
    assert.equal(reset.KmsKeyId, `arn:aws:kms:us-east-1:000000000000:key/${created.keyId}`);
  });
});
