import assert from 'node:assert/strict';
import { readdirSync, readlinkSync } from 'node:fs';
import { it } from 'node:test';
import { CreateBucketCommand, PutBucketPolicyCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { queryRequest } from '../iam/query-client.js';

/** This process's open descriptors that point into `dir` (Linux /proc), by target. */
function openUnder(dir: string): string[] {
  const found: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir)) found.push(target);
    } catch {
      // Closed between the listing and the read (the listing's own descriptor among them).
    }
  }
  return found.sort();
}

/** A write through each store that publishes a change count (KMS, IAM, S3 buckets and their policies). */
async function touchEveryStore(t: TestServer, round: number): Promise<void> {
  await t.kms().send(new CreateKeyCommand({}));
  const r = await queryRequest(t.endpoint, 'iam', { Action: 'CreateUser', UserName: `u${round}` });
  assert.equal(r.status, 200, r.text);
  const s3 = t.s3();
  await s3.send(new CreateBucketCommand({ Bucket: `fds-${round}` }));
  await s3.send(new PutBucketPolicyCommand({ Bucket: `fds-${round}`, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::fds-${round}/never/*` }] }) }));
  await s3.send(new PutObjectCommand({ Bucket: `fds-${round}`, Key: 'k', Body: 'x' }));
}

// Tests start and stop many servers in one process: each stop must close every file the
// start opened in the data directory (metadata.db's change-count side files among them).
it('stopping an in-process server closes every descriptor it opened in its data directory, start after start', async () => {
  let t = await startTestServer();
  const dir = t.dataDir;
  try {
    for (let round = 0; round < 3; round++) {
      await touchEveryStore(t, round);
      assert.ok(openUnder(dir).some((p) => p.endsWith('metadata.db.s3-bucket-changes')), 'the check sees the side files while the server runs');
      await t.stop();
      assert.deepEqual(openUnder(dir), [], `round ${round}: nothing under the data directory stays open`);
      t = await startTestServer({}, dir);
    }
  } finally {
    await t.close();
  }
});
