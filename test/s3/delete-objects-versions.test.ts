import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CreateBucketCommand, DeleteObjectsCommand, HeadObjectCommand, PutObjectCommand, type ObjectIdentifier } from '@aws-sdk/client-s3';
import { testServerFixture } from '../helpers/server.js';
import { sdkOutcome } from '../helpers/sdk-outcome.js';

const B = 'delete-versions';
/** A version id in S3's shape (32 URL-safe characters) that no object here has: every object's one version is "null". */
const OTHER = '3HL4kqtJlcpXroDTDmjVBH40Nrjfkd.x';

// DeleteObjects echoes the <VersionId> a key was named with, in its Deleted or Error entry; on a
// bucket that keeps no versions, a version other than "null" does not exist: that key is a
// NoSuchVersion entry and its object stays (LocalStack's delete_objects on a non-versioned
// bucket, scality/cloudserver's multiObjectDelete.js _formatXML).
describe('DeleteObjects with <VersionId>', () => {
  const fx = testServerFixture(async ({ s3 }) => {
    await s3.send(new CreateBucketCommand({ Bucket: B }));
  });

  async function put(...keys: string[]): Promise<void> {
    for (const Key of keys) await fx.s3.send(new PutObjectCommand({ Bucket: B, Key, Body: Key }));
  }
  /** Whether the key is there: a HEAD that is 'ok', or false only for 404 NotFound (any other failure fails the test). */
  const exists = async (Key: string): Promise<boolean> => {
    const outcome = await sdkOutcome(fx.s3.send(new HeadObjectCommand({ Bucket: B, Key })));
    if (outcome === 'ok') return true;
    assert.equal(outcome, '404 NotFound', `HEAD ${Key}`);
    return false;
  };

  it('echoes VersionId null in Deleted, and answers another version as NoSuchVersion with it, the object kept', async () => {
    await put('a', 'b', 'c');
    const objects: ObjectIdentifier[] = [{ Key: 'a', VersionId: 'null' }, { Key: 'b' }, { Key: 'c', VersionId: OTHER }, { Key: 'never', VersionId: 'null' }];
    const r = await fx.s3.send(new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: objects } }));
    const deleted = (r.Deleted ?? []).map((d) => ({ Key: d.Key, VersionId: d.VersionId })).sort((x, y) => String(x.Key).localeCompare(String(y.Key)));
    assert.deepEqual(deleted, [
      { Key: 'a', VersionId: 'null' },
      { Key: 'b', VersionId: undefined },
      { Key: 'never', VersionId: 'null' },
    ]);
    assert.deepEqual(r.Errors, [{ Key: 'c', VersionId: OTHER, Code: 'NoSuchVersion', Message: 'The specified version does not exist.' }]);
    assert.deepEqual([await exists('a'), await exists('b'), await exists('c')], [false, false, true]);
  });

  it('in Quiet mode lists only the NoSuchVersion entry, with its VersionId', async () => {
    await put('q1', 'q2');
    const r = await fx.s3.send(new DeleteObjectsCommand({ Bucket: B, Delete: { Quiet: true, Objects: [{ Key: 'q1', VersionId: 'null' }, { Key: 'q2', VersionId: OTHER }] } }));
    assert.equal(r.Deleted, undefined);
    assert.deepEqual(r.Errors?.map((e) => [e.Key, e.VersionId, e.Code]), [['q2', OTHER, 'NoSuchVersion']]);
    assert.deepEqual([await exists('q1'), await exists('q2')], [false, true]);
  });
});
