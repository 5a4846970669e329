import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killServer, spawnServer, type ServerProcess } from '../helpers/server-process.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { ec2, items, type Ec2Answer } from './ec2-raw.js';

// Hostile EC2 Query requests: each is answered with EC2's error (or EC2's result) and
// leaves the server serving.
describe('EC2 wire: hostile volume requests', () => {
  let t: TestServer;
  const call = (action: string, params: Record<string, string> = {}): Promise<Ec2Answer> => ec2(t.endpoint, action, params);
  const volume = (params: Record<string, string> = {}): Promise<Ec2Answer> => call('CreateVolume', { Size: '1', AvailabilityZone: 'us-east-1a', ...params });
  const tag = (key: string, value: string): Record<string, string> => ({
    'TagSpecification.1.ResourceType': 'volume',
    'TagSpecification.1.Tag.1.Key': key,
    'TagSpecification.1.Tag.1.Value': value,
  });
  const volumeCount = async (): Promise<number> => {
    const r = await call('DescribeVolumes');
    assert.equal(r.status, 200, r.text);
    return items(r.body, 'volumeSet').length;
  };

  before(async () => {
    t = await startTestServer();
  });
  after(async () => t.close());

  it('keeps wildcard semantics: * any run, ? one character, everything else literal', async () => {
    const v = await volume(tag('w', 'ab.c*d'));
    assert.equal(v.status, 200, v.text);
    // An error answer lists no volumes either: each pattern must be served (200) for its [] to count.
    const ids = async (pattern: string): Promise<unknown[]> => {
      const r = await call('DescribeVolumes', { 'Filter.1.Name': 'tag:w', 'Filter.1.Value.1': pattern });
      assert.equal(r.status, 200, `${pattern}: ${r.text}`);
      return items(r.body, 'volumeSet').map((i) => i.volumeId);
    };
    for (const pattern of ['ab.c*d', 'a*', '*d', 'ab?c*d', '*.*', 'ab.c**d', '*']) assert.deepEqual(await ids(pattern), [v.body.volumeId], pattern);
    for (const pattern of ['abxc*d', 'a', 'ab.c*d?', '?ab.c*d', 'AB.C*D']) assert.deepEqual(await ids(pattern), [], pattern);
    // A backslash escapes the next character, as the EC2 filter docs (`\*amazon\?\\` is the literal `*amazon?\`).
    for (const pattern of ['ab.c\\*d', '\\a\\b\\.c\\*\\d', 'ab?c\\**']) assert.deepEqual(await ids(pattern), [v.body.volumeId], pattern);
    for (const pattern of ['ab.c\\*', 'ab\\?c*d', 'ab.c\\?d', 'ab\\.c\\*d\\*']) assert.deepEqual(await ids(pattern), [], pattern);
    const w = await volume(tag('w', '*a?\\'));
    assert.equal(w.status, 200, w.text);
    for (const pattern of ['\\*a\\?\\\\', '\\**\\\\', '*\\']) assert.deepEqual(await ids(pattern), [w.body.volumeId], pattern);
    assert.deepEqual(await ids('\\*a\\?\\'), [w.body.volumeId], 'a trailing lone backslash is itself');
  });

  it('refuses MaxResults together with volume or snapshot ids (InvalidParameterCombination), as EC2 does', async () => {
    const v = await volume();
    const r = await call('DescribeVolumes', { MaxResults: '5', 'VolumeId.1': String(v.body.volumeId) });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.code, 'InvalidParameterCombination');
    assert.equal(r.message, 'The parameter volumeSet cannot be used with the parameter maxResults');
    const s = await call('DescribeSnapshots', { MaxResults: '5', 'SnapshotId.1': 'snap-0123456789abcdef0' });
    assert.equal(s.code, 'InvalidParameterCombination', s.text);
    // Either alone is served.
    assert.equal((await call('DescribeVolumes', { MaxResults: '5' })).status, 200);
    assert.equal((await call('DescribeVolumes', { 'VolumeId.1': String(v.body.volumeId) })).status, 200);
  });

  it('reads list members at any index, as spelt: a filter at index 10000 still filters', async () => {
    const a = String((await volume()).body.volumeId);
    const b = String((await volume()).body.volumeId);
    const ids = async (params: Record<string, string>): Promise<unknown[]> => {
      const r = await call('DescribeVolumes', params);
      assert.equal(r.status, 200, r.text);
      return items(r.body, 'volumeSet').map((i) => i.volumeId);
    };
    // A five-digit index was skipped: the filter vanished and every volume was listed.
    assert.deepEqual(await ids({ 'Filter.10000.Name': 'volume-id', 'Filter.10000.Value.1': a }), [a]);
    assert.deepEqual(await ids({ 'Filter.1.Name': 'volume-id', 'Filter.1.Value.10000': b }), [b]);
    // Members are taken in numeric order, whatever their spelling.
    assert.deepEqual(await ids({ 'Filter.2.Name': 'volume-id', 'Filter.2.Value.1': a, 'Filter.10.Name': 'status', 'Filter.10.Value.1': 'available' }), [a]);
    // `VolumeId.01` was read back as `VolumeId.1` (absent): InvalidVolumeID.Malformed for "".
    assert.deepEqual(await ids({ 'VolumeId.01': b }), [b]);
  });

  it("refuses another action's NextToken (a snapshot token to DescribeVolumes and back)", async () => {
    const token = (id: string): string => Buffer.from(id, 'utf8').toString('base64url');
    const vols = await call('DescribeVolumes', { MaxResults: '5', NextToken: token('snap-0123456789abcdef0') });
    assert.equal(vols.code, 'InvalidParameterValue', vols.text);
    assert.equal(vols.message, 'The parameter NextToken is not valid');
    const snaps = await call('DescribeSnapshots', { MaxResults: '5', NextToken: token('vol-0123456789abcdef0') });
    assert.equal(snaps.code, 'InvalidParameterValue', snaps.text);
    // A token of the action's own kind is taken.
    assert.equal((await call('DescribeVolumes', { MaxResults: '5', NextToken: token('vol-0123456789abcdef0') })).status, 200);
  });

  it('refuses a tag key over 128 or a value over 256 characters and creates no volume', async () => {
    const before = await volumeCount();
    const key = await volume(tag('k'.repeat(129), 'v'));
    assert.equal(key.code, 'InvalidParameterValue', key.text);
    assert.equal(key.message, 'Tag key exceeds the maximum length of 128 characters');
    const value = await volume(tag('k', 'v'.repeat(257)));
    assert.equal(value.code, 'InvalidParameterValue', value.text);
    assert.equal(value.message, 'Tag value exceeds the maximum length of 256 characters');
    assert.equal(await volumeCount(), before);
    // The limits count characters, not bytes or UTF-16 units.
    assert.equal((await volume(tag('é'.repeat(128), '😀'.repeat(256)))).status, 200);
  });

  it("quotes at most 256 characters of a malformed InstanceId in AttachVolume's error", async () => {
    const v = await volume();
    assert.equal(v.status, 200, v.text);
    const instanceId = `i-${'x'.repeat(4000)}`;
    const r = await call('AttachVolume', { VolumeId: String(v.body.volumeId), InstanceId: instanceId, Device: '/dev/sdf' });
    assert.deepEqual([r.status, r.code], [400, 'InvalidParameterValue'], r.text);
    assert.equal(r.message, `Invalid id: "${instanceId.slice(0, 256)}..."`);
  });
});

// In its own process: before the fix the match held the event loop, so an in-process
// server would have stalled the test runner too; here the test's timeout fails it.
describe('EC2 wire: a wildcard filter cannot stall the server', () => {
  let server: ServerProcess | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'cipherlake-ec2-glob-'));

  before(async () => {
    server = await spawnServer({ dataDir });
  });
  after(async () => {
    await killServer(server);
    rmSync(dataDir, { recursive: true, force: true });
  });

  // A filter value became a regular expression of `.*` runs, which backtracks
  // exponentially: this one held the event loop (every client of the process) for minutes.
  it('matches a filter with many wildcards against a long tag value', { timeout: 20_000 }, async () => {
    const endpoint = server?.endpoint ?? '';
    const v = await ec2(endpoint, 'CreateVolume', {
      Size: '1',
      AvailabilityZone: 'us-east-1a',
      'TagSpecification.1.ResourceType': 'volume',
      'TagSpecification.1.Tag.1.Key': 'k',
      'TagSpecification.1.Tag.1.Value': 'a'.repeat(256),
    });
    assert.equal(v.status, 200, v.text);
    const none = await ec2(endpoint, 'DescribeVolumes', { 'Filter.1.Name': 'tag:k', 'Filter.1.Value.1': `${'*a'.repeat(12)}b` });
    assert.equal(none.status, 200, none.text);
    assert.equal(items(none.body, 'volumeSet').length, 0);
    const hit = await ec2(endpoint, 'DescribeVolumes', { 'Filter.1.Name': 'tag:k', 'Filter.1.Value.1': `${'*a'.repeat(12)}*` });
    assert.equal(hit.status, 200, hit.text);
    assert.deepEqual(items(hit.body, 'volumeSet').map((i) => i.volumeId), [v.body.volumeId]);
  });
});
