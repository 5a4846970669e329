import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateKeyCommand,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { ensureAwsManagedKey } from '../../src/kms/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('KMS tags', () => {
  let t: TestServer;
  let kms: KMSClient;
  const newKey = async (input: ConstructorParameters<typeof CreateKeyCommand>[0] = {}) => (await kms.send(new CreateKeyCommand(input))).KeyMetadata!;
  before(async () => {
    t = await startTestServer();
    kms = t.kms();
  });
  after(async () => {
    await t.close();
  });

  it('adds, replaces, removes and lists tags', async () => {
    const key = await newKey({ Tags: [{ TagKey: 'team', TagValue: 'ml' }] });
    await kms.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'env', TagValue: 'prod' }, { TagKey: 'team', TagValue: 'data' }, { TagKey: 'empty', TagValue: '' }] }));
    const listed = await kms.send(new ListResourceTagsCommand({ KeyId: key.Arn }));
    assert.deepEqual(listed.Tags, [
      { TagKey: 'team', TagValue: 'data' },
      { TagKey: 'env', TagValue: 'prod' },
      { TagKey: 'empty', TagValue: '' },
    ]);
    assert.equal(listed.Truncated, false);
    await kms.send(new UntagResourceCommand({ KeyId: key.KeyId, TagKeys: ['env', 'not-there'] }));
    const after = await kms.send(new ListResourceTagsCommand({ KeyId: key.KeyId }));
    assert.deepEqual(after.Tags?.map((x) => x.TagKey), ['team', 'empty']);
  });

  it('validates tag keys and values, the aws: prefix and the 50-tag limit', async () => {
    const key = await newKey();
    await assert.rejects(kms.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: '', TagValue: 'x' }] })), { name: 'ValidationException' });
    await assert.rejects(kms.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'k'.repeat(129), TagValue: 'x' }] })), { name: 'ValidationException' });
    await assert.rejects(kms.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'k', TagValue: 'v'.repeat(257) }] })), { name: 'ValidationException' });
    await kms.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'k'.repeat(128), TagValue: 'v'.repeat(256) }] }));
    await assert.rejects(kms.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'aws:owner', TagValue: 'x' }] })), { name: 'TagException' });
    await assert.rejects(kms.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'AWS:owner', TagValue: 'x' }] })), { name: 'TagException' });
    await assert.rejects(kms.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: undefined as never })), { name: 'ValidationException' });
    await assert.rejects(kms.send(new UntagResourceCommand({ KeyId: key.KeyId, TagKeys: undefined as never })), { name: 'ValidationException' });
    const many = Array.from({ length: 49 }, (_, i) => ({ TagKey: `t${i}`, TagValue: `${i}` }));
    await kms.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: many }));
    await kms.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 't0', TagValue: 'replaced' }] }));
    await assert.rejects(kms.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'one-too-many', TagValue: 'x' }] })), { name: 'TagException' });
  });

  it('pages ListResourceTags', async () => {
    const key = await newKey();
    const tags = Array.from({ length: 7 }, (_, i) => ({ TagKey: `p${i}`, TagValue: `${i}` }));
    await kms.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: tags }));
    const seen: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    do {
      const page = await kms.send(new ListResourceTagsCommand({ KeyId: key.KeyId, Limit: 3, ...(marker ? { Marker: marker } : {}) }));
      seen.push(...page.Tags!.map((x) => x.TagKey!));
      assert.equal(page.Truncated, page.NextMarker !== undefined);
      marker = page.NextMarker;
      pages++;
    } while (marker !== undefined);
    assert.equal(pages, 3);
    assert.deepEqual(seen, tags.map((x) => x.TagKey));
    await assert.rejects(kms.send(new ListResourceTagsCommand({ KeyId: key.KeyId, Marker: 'zzz' })), { name: 'InvalidMarkerException' });
    await assert.rejects(kms.send(new ListResourceTagsCommand({ KeyId: key.KeyId, Limit: 51 })), { name: 'ValidationException' });
  });

  it('answers state and ownership errors', async () => {
    await assert.rejects(kms.send(new ListResourceTagsCommand({ KeyId: '00000000-0000-4000-8000-000000000000' })), { name: 'NotFoundException' });
    await assert.rejects(kms.send(new TagResourceCommand({ KeyId: '00000000-0000-4000-8000-000000000000', Tags: [{ TagKey: 'a', TagValue: 'b' }] })), { name: 'NotFoundException' });
    const key = await newKey({ Tags: [{ TagKey: 'a', TagValue: 'b' }] });
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }));
    await assert.rejects(kms.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'c', TagValue: 'd' }] })), { name: 'KMSInvalidStateException' });
    await assert.rejects(kms.send(new UntagResourceCommand({ KeyId: key.KeyId, TagKeys: ['a'] })), { name: 'KMSInvalidStateException' });
    assert.equal((await kms.send(new ListResourceTagsCommand({ KeyId: key.KeyId }))).Tags?.length, 1);
    const managed = await ensureAwsManagedKey(t.server.keys, 'alias/aws/s3');
    await assert.rejects(kms.send(new TagResourceCommand({ KeyId: managed.keyId, Tags: [{ TagKey: 'c', TagValue: 'd' }] })), { name: 'UnsupportedOperationException' });
  });
});
