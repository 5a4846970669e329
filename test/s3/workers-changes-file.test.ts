import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, DeleteBucketPolicyCommand, GetObjectCommand, ListBucketsCommand, PutBucketPolicyCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { clusterWorkers, serverFixture, type ServerProcess } from '../helpers/server-process.js';
import { clientPerWorker, pinnedS3Client, type PinnedS3Client } from '../helpers/cluster-connections.js';
import { until } from '../helpers/until.js';

const outcome = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: Error) => e.name);

/** Descriptors of process `pid` open on a deleted `file`. */
function deletedOpen(pid: number, file: string): number {
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`) === `${file} (deleted)`;
    } catch {
      return false;
    }
  }).length;
}

/**
 * The bucket change count's side file deleted while `--workers 2` runs, then one worker
 * replaced (it creates the file anew while the other still holds the deleted one): the
 * workers must not split, each missing the other's changes until a restart.
 */
describe('cipherlake server --workers 2: metadata.db.s3-bucket-changes deleted, then a worker replaced', () => {
  const fixture = serverFixture('cipherlake-s3-workers-file-');
  let server: ServerProcess;
  let dataDir: string;
  const clients: PinnedS3Client[] = [];
  before(async () => {
    dataDir = join(fixture.dir(), 'data');
    server = await fixture.spawn({ dataDir, args: ['--workers', '2'], timeoutMs: 30_000 });
  });
  after(() => {
    for (const c of clients) c.destroy();
  });

  it('a bucket policy put through either worker holds on the other', async () => {
    const [survivor, doomed] = clusterWorkers(server.child.pid!);
    assert.ok(survivor !== undefined && doomed !== undefined, 'two workers');
    const file = join(dataDir, 'metadata.db.s3-bucket-changes');
    unlinkSync(file);
    process.kill(doomed, 'SIGKILL');
    let workers: number[] = [];
    await until(() => {
      workers = clusterWorkers(server.child.pid!);
      return workers.length === 2 && !workers.includes(doomed);
    }, 'a replacement worker', 30_000);
    const replacement = workers.find((w) => w !== survivor)!;
    // The primary hands connections only to listening workers: retry until one reaches each.
    const port = Number(new URL(server.endpoint).port);
    let pinned: PinnedS3Client[] | undefined;
    for (let i = 0; pinned === undefined && i < 20; i++) {
      pinned = await clientPerWorker([survivor, replacement], port, () => pinnedS3Client(server.endpoint), (c) => c.s3.send(new ListBucketsCommand({}))).catch(async () => {
        await new Promise((r) => setTimeout(r, 500));
        return undefined;
      });
    }
    assert.ok(pinned !== undefined, 'a client on each worker');
    clients.push(...pinned);
    const [onSurvivor, onReplacement] = pinned.map((c) => c.s3) as [S3Client, S3Client];
    // The body is read: an unread one would hold the client's one connection.
    const get = (s3: S3Client) => outcome(s3.send(new GetObjectCommand({ Bucket: 'moved', Key: 'k' })).then((r) => r.Body!.transformToString()));

    await onReplacement.send(new CreateBucketCommand({ Bucket: 'moved' }));
    await onReplacement.send(new PutObjectCommand({ Bucket: 'moved', Key: 'k', Body: 'x' }));
    assert.equal(await get(onSurvivor), 'ok');
    assert.equal(await get(onReplacement), 'ok');
    // Through the replacement (on the file it created): the survivor, on the deleted one until it
    // looks at the path (at most 100 ms apart; here likely at its first GET above), follows.
    const deny = { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::moved/*' }] };
    await onReplacement.send(new PutBucketPolicyCommand({ Bucket: 'moved', Policy: JSON.stringify(deny) }));
    // Polled (up to 5 s): a bound on waiting; before the fix it never came.
    let seen = '';
    for (let i = 0; seen !== 'AccessDenied' && i < 50; i++) {
      seen = await get(onSurvivor);
      if (seen !== 'AccessDenied') await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(seen, 'AccessDenied', 'the survivor enforces a policy put through the replacement');
    assert.equal(deletedOpen(survivor, file), 0, 'the survivor left the deleted file');
    // And the other way, at once.
    await onSurvivor.send(new DeleteBucketPolicyCommand({ Bucket: 'moved' }));
    assert.equal(await get(onReplacement), 'ok');
  });
});
