import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { ec2, items, type Ec2Answer } from './ec2-raw.js';

/** `TagSpecification.<spec>.Tag.N` for each [key, value], under ResourceType `type`. */
function tagSpec(spec: number, type: string, tags: ReadonlyArray<readonly [string, string]>): Record<string, string> {
  const out: Record<string, string> = { [`TagSpecification.${spec}.ResourceType`]: type };
  tags.forEach(([key, value], i) => {
    out[`TagSpecification.${spec}.Tag.${i + 1}.Key`] = key;
    out[`TagSpecification.${spec}.Tag.${i + 1}.Value`] = value;
  });
  return out;
}

const numbered = (n: number, prefix = 'k'): Array<readonly [string, string]> => Array.from({ length: n }, (_, i) => [`${prefix}${i}`, `v${i}`] as const);

// EC2's tag limits on the tags a CreateVolume / CreateSnapshot / CopySnapshot request
// gives the resource it creates: at most 50, each key once.
describe('EC2 tag limits', () => {
  let t: TestServer;
  const call = (action: string, params: Record<string, string> = {}): Promise<Ec2Answer> => ec2(t.endpoint, action, params);
  const volume = (params: Record<string, string> = {}): Promise<Ec2Answer> => call('CreateVolume', { Size: '1', AvailabilityZone: 'us-east-1a', ...params });
  const count = async (action: 'DescribeVolumes' | 'DescribeSnapshots', set: string): Promise<number> => {
    const r = await call(action);
    assert.equal(r.status, 200, r.text);
    return items(r.body, set).length;
  };

  before(async () => {
    t = await startTestServer();
  });
  after(async () => t.close());

  it('takes 50 tags on a volume and refuses 51 with TagLimitExceeded, creating nothing', async () => {
    const fifty = await volume(tagSpec(1, 'volume', numbered(50)));
    assert.equal(fifty.status, 200, fifty.text);
    const stored = await call('DescribeVolumes', { 'VolumeId.1': String(fifty.body.volumeId) });
    assert.equal(items(items(stored.body, 'volumeSet')[0] ?? {}, 'tagSet').length, 50);
    const before = await count('DescribeVolumes', 'volumeSet');
    const over = await volume(tagSpec(1, 'volume', numbered(51)));
    assert.deepEqual([over.status, over.code, over.message], [400, 'TagLimitExceeded', 'The maximum number of Tags for a resource has been reached.'], over.text);
    assert.equal(await count('DescribeVolumes', 'volumeSet'), before);
  });

  it('counts the tags of two specifications of the same type together', async () => {
    const over = await volume({ ...tagSpec(1, 'volume', numbered(30, 'a')), ...tagSpec(2, 'volume', numbered(21, 'b')) });
    assert.deepEqual([over.status, over.code], [400, 'TagLimitExceeded'], over.text);
    const fits = await volume({ ...tagSpec(1, 'volume', numbered(30, 'a')), ...tagSpec(2, 'volume', numbered(20, 'b')) });
    assert.equal(fits.status, 200, fits.text);
  });

  it('refuses a tag key given twice with InvalidParameterValue, in one specification or across two', async () => {
    const before = await count('DescribeVolumes', 'volumeSet');
    const twice = await volume(tagSpec(1, 'volume', [['Name', 'a'], ['team', 'ml'], ['Name', 'b']]));
    assert.deepEqual([twice.status, twice.code, twice.message], [400, 'InvalidParameterValue', "Duplicate tag key 'Name' specified."], twice.text);
    const across = await volume({ ...tagSpec(1, 'volume', [['Name', 'a']]), ...tagSpec(2, 'volume', [['Name', 'a']]) });
    assert.deepEqual([across.status, across.code, across.message], [400, 'InvalidParameterValue', "Duplicate tag key 'Name' specified."], across.text);
    assert.equal(await count('DescribeVolumes', 'volumeSet'), before);
    // Keys are case-sensitive: Name and name are two tags.
    assert.equal((await volume(tagSpec(1, 'volume', [['Name', 'a'], ['name', 'b']]))).status, 200);
  });

  it('applies the same limits to CreateSnapshot and CopySnapshot', async () => {
    const v = await volume();
    assert.equal(v.status, 200, v.text);
    const volumeId = String(v.body.volumeId);
    const snapshots = await count('DescribeSnapshots', 'snapshotSet');
    const over = await call('CreateSnapshot', { VolumeId: volumeId, ...tagSpec(1, 'snapshot', numbered(51)) });
    assert.deepEqual([over.status, over.code], [400, 'TagLimitExceeded'], over.text);
    const dup = await call('CreateSnapshot', { VolumeId: volumeId, ...tagSpec(1, 'snapshot', [['k', '1'], ['k', '2']]) });
    assert.deepEqual([dup.status, dup.code], [400, 'InvalidParameterValue'], dup.text);
    assert.equal(await count('DescribeSnapshots', 'snapshotSet'), snapshots);
    const snap = await call('CreateSnapshot', { VolumeId: volumeId, ...tagSpec(1, 'snapshot', numbered(50)) });
    assert.equal(snap.status, 200, snap.text);
    const copy = await call('CopySnapshot', { SourceSnapshotId: String(snap.body.snapshotId), SourceRegion: 'us-east-1', ...tagSpec(1, 'snapshot', numbered(51)) });
    assert.deepEqual([copy.status, copy.code], [400, 'TagLimitExceeded'], copy.text);
    assert.equal(await count('DescribeSnapshots', 'snapshotSet'), snapshots + 1);
  });
});
