import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { awsEnv, runPythonJson, scratch, type Scratch } from '../helpers/client-run.js';

const SCRIPT = fileURLToPath(new URL('./clients-boto3.py', import.meta.url));

/**
 * boto3 (Debian python3-boto3) driving every EC2 action Cipherlake serves (src/volumes/wire/routes.ts):
 * CreateVolume, DescribeVolumes, DeleteVolume, AttachVolume, DetachVolume, CreateSnapshot,
 * DescribeSnapshots, DeleteSnapshot, CopySnapshot and the six EBS encryption-by-default actions,
 * with boto3's paginators and waiters, filters and tags, KMS keys by alias, and the error codes
 * and statuses boto3 exposes. The script prints observations; the fields and codes asserted
 * are the ones the EC2 API reference documents.
 */
describe('boto3 against Cipherlake EC2 volumes', () => {
  let t: TestServer;
  let s: Scratch;
  before(async () => {
    t = await startTestServer();
    s = scratch('cipherlake-ec2-boto3-');
  });
  after(async () => {
    await t.close();
    s.remove();
  });

  const section = (name: string): Promise<Record<string, unknown>> => runPythonJson(SCRIPT, [name], awsEnv(s, { ENDPOINT: t.endpoint }), s.dir);

  it('volumes: CreateVolume (Encrypted, KmsKeyId by alias, tags), DescribeVolumes with filters, Attach/DetachVolume, DeleteVolume, and the volume waiters', async () => {
    const out = await section('volumes');
    assert.deepEqual(out.create, {
      id: true, size: 2, zone: 'us-east-1a', state: 'available', created: true, encrypted: true, keyArn: true, type: 'gp3', multiAttach: false,
      tags: [['stage', 'train'], ['team', 'ml']],
    });
    assert.deepEqual(out.describe, { id: true, state: 'available', keyArn: true, attachments: [], tags: ['stage', 'team'], defaultKey: true });
    assert.deepEqual(out.filters, {
      tag: true, tagOps: true, tagNone: [], size: true, status: true, statusAndTag: true, inUse: [], tagKey: true, kmsKey: true,
      created: true, createdLongAgo: [], multiAttach: true, notAttached: [],
    });
    assert.deepEqual(out.attach, { state: 'attached', volume: true, instance: 'i-0123456789abcdef0', device: '/dev/sdf', time: true });
    assert.deepEqual(out.inUse, {
      state: 'in-use', attachment: [['i-0123456789abcdef0', '/dev/sdf', 'attached']], filter: true, documented: [true, true, true, true], deleteInUse: ['VolumeInUse', 400, true],
    });
    assert.deepEqual(out.detach, { state: 'detached', volume: true, again: ['IncorrectState', 400, true] });
    assert.deepEqual(out.deleted, ['InvalidVolume.NotFound', 400, true], 'volume_deleted waited for the deleted volume');
  });

  it("describe_volumes through boto3's paginator, with and without a tag filter", async () => {
    const out = await section('volume-paging');
    assert.deepEqual(out.pages, [true, true, true], 'three or more pages, every volume made, none twice');
    assert.deepEqual(out.filtered, [3, true], '11 tagged volumes in pages of 5');
  });

  it('snapshots: CreateSnapshot, snapshot_completed, DescribeSnapshots by filter and paginator, CopySnapshot to another key, a volume from the copy, DeleteSnapshot', async () => {
    const out = await section('snapshots');
    assert.deepEqual(out.create, {
      id: true, volume: true, size: 1, description: 'nightly', encrypted: true, keyArn: true, started: true, owner: '000000000000', tags: [['team', 'ml']],
    });
    assert.deepEqual(out.describe, {
      state: 'completed', progress: '100%', keyArn: true, byTag: true, byStatus: true, byVolume: true, mine: true, documented: [true, true, []],
    });
    assert.deepEqual(out.copy, { id: true, tags: [['copy', 'yes']], keyArn: true, restored: [true, 3, true] });
    assert.deepEqual(out.pages, [2, true], '6 snapshots in pages of 5');
    assert.deepEqual(out.deleted, ['InvalidSnapshot.NotFound', 400, true]);
  });

  it('EBS encryption by default and the default KMS key (Get/Enable/Disable, Get/Modify/Reset)', async () => {
    const out = await section('ebs-defaults');
    // With no default set, GetEbsDefaultKmsKeyId names the AWS managed key by its alias, as EC2 does.
    assert.deepEqual(out, {
      get: false, enable: true, afterEnable: true, disable: false, modify: true, getKey: true, usesDefault: [true, true], reset: [true, 'alias/aws/ebs'],
    });
  });

  it('error codes and HTTP status as boto3 exposes them; DryRun; CreateVolume idempotent by ClientToken; an IAM user without EC2 permissions', async () => {
    const out = await section('errors');
    assert.deepEqual(out, {
      volumeNotFound: ['InvalidVolume.NotFound', 400, true],
      deleteNotFound: ['InvalidVolume.NotFound', 400, true],
      attachNotFound: ['InvalidVolume.NotFound', 400, true],
      snapshotNotFound: ['InvalidSnapshot.NotFound', 400, true],
      malformed: ['InvalidVolumeID.Malformed', 400, true],
      sizeZero: ['InvalidParameterValue', 400, true],
      badType: ['InvalidParameterValue', 400, true],
      badFilter: ['InvalidParameterValue', 400, true],
      kmsKeyNotFound: ['InvalidKMSKey.NotFound', 400, true],
      noZone: ['MissingParameter', 400, true],
      idsAndMax: ['InvalidParameterCombination', 400, true],
      dryRun: ['DryRunOperation', 412, true],
      dryRunDelete: ['DryRunOperation', 412, true],
      stillThere: true,
      clientToken: [true, true, ['IdempotentParameterMismatch', 400, true], true],
      clientTokenRace: 1,
      waiterOnMissing: 'InvalidVolume.NotFound',
      unauthorized: [['UnauthorizedOperation', 403, true], ['UnauthorizedOperation', 403, true]],
    });
  });

  it('CreateVolume ClientToken: 64 ASCII characters at most, and a token holds across a restart (kept in the volume record)', async () => {
    assert.deepEqual(await section('token-before-restart'), { tooLong: ['InvalidParameterValue', 400, true], longest: [64, true] });
    t = await t.restart();
    assert.deepEqual(await section('token-after-restart'), { made: 1, again: true, mismatch: ['IdempotentParameterMismatch', 400, true], count: 1 });
  });
});
