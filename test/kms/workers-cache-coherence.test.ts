import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  GenerateDataKeyCommand,
  ListResourceTagsCommand,
  PutKeyPolicyCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
  UpdateAliasCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { readBlobHeader } from '../../src/kms/ciphertext-blob.js';
import { clusterWorkers, serverFixture, type ServerProcess } from '../helpers/server-process.js';
import { pinnedKmsClient, workerOfConnection, type PinnedKmsClient } from '../helpers/cluster-connections.js';

const CONNECTIONS = 4;

/**
 * `cipherlake server --workers 2`: each worker process keeps key and alias records in
 * memory. A change made through one worker must be what the other answers by on the very
 * next request, with no wait in between (no time-bounded staleness).
 */
describe('cipherlake server --workers 2: key state changed through one worker, used through the other at once', () => {
  const fixture = serverFixture('cipherlake-workers-cache-');
  let server: ServerProcess;
  const clients: PinnedKmsClient[] = [];
  /** A client served by one worker (the writer) and one served by the other (the observer). */
  let writer: KMSClient;
  let observer: KMSClient;

  before(async () => {
    server = await fixture.spawn({ dataDir: join(fixture.dir(), 'data'), args: ['--workers', '2'], timeoutMs: 30_000 });
    const workers = clusterWorkers(server.child.pid!);
    assert.equal(workers.length, 2, `two workers: ${workers.join(',')}`);
    const serverPort = Number(new URL(server.endpoint).port);
    // The primary hands new connections to the workers in turn: some land on each.
    const byWorker = new Map<number, PinnedKmsClient>();
    for (let i = 0; i < CONNECTIONS; i++) {
      const c = pinnedKmsClient(server.endpoint);
      clients.push(c);
      await c.kms.send(new DescribeKeyCommand({ KeyId: 'alias/aws/s3' })).catch(() => undefined);
      const pid = workerOfConnection(workers, serverPort, c.localPort());
      assert.ok(pid !== undefined, `connection ${i} is served by a worker`);
      if (!byWorker.has(pid)) byWorker.set(pid, c);
    }
    assert.equal(byWorker.size, 2, 'the connections reach both workers');
    [writer, observer] = [...byWorker.values()].map((c) => c.kms) as [KMSClient, KMSClient];
  });

  after(() => {
    for (const c of clients) c.destroy();
  });

  const newKey = async (): Promise<string> => (await writer.send(new CreateKeyCommand({ Description: 'coherence' }))).KeyMetadata!.KeyId!;
  const dataKey = (client: KMSClient, keyId: string) => client.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }));

  it('a key disabled, then enabled again', async () => {
    const keyId = await newKey();
    // Both workers have used the key (and hold its record) before the change.
    await dataKey(writer, keyId);
    await dataKey(observer, keyId);
    await writer.send(new DisableKeyCommand({ KeyId: keyId }));
    await assert.rejects(dataKey(observer, keyId), { name: 'DisabledException' });
    await writer.send(new EnableKeyCommand({ KeyId: keyId }));
    await dataKey(observer, keyId);
  });

  it('a key scheduled for deletion, then the deletion cancelled', async () => {
    const keyId = await newKey();
    await dataKey(observer, keyId);
    await writer.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    await assert.rejects(dataKey(observer, keyId), { name: 'KMSInvalidStateException' });
    assert.equal((await observer.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState, 'PendingDeletion');
    await writer.send(new CancelKeyDeletionCommand({ KeyId: keyId }));
    // A cancelled deletion leaves the key disabled.
    assert.equal((await observer.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState, 'Disabled');
    await assert.rejects(dataKey(observer, keyId), { name: 'DisabledException' });
  });

  it('a key rotated: the next data key is sealed under the new material version', async () => {
    const keyId = await newKey();
    const first = await dataKey(observer, keyId);
    assert.equal(readBlobHeader(first.CiphertextBlob!).keyVersion, 1);
    await writer.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    const next = await dataKey(observer, keyId);
    assert.equal(readBlobHeader(next.CiphertextBlob!).keyVersion, 2);
  });

  it('a key policy replaced by one that denies GenerateDataKey', async () => {
    const keyId = await newKey();
    await dataKey(observer, keyId);
    const policy = {
      Version: '2012-10-17',
      Statement: [
        { Sid: 'Root', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::000000000000:root' }, Action: 'kms:*', Resource: '*' },
        { Sid: 'NoDataKeys', Effect: 'Deny', Principal: '*', Action: 'kms:GenerateDataKey', Resource: '*' },
      ],
    };
    await writer.send(new PutKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default', Policy: JSON.stringify(policy) }));
    await assert.rejects(dataKey(observer, keyId), { name: 'AccessDeniedException' });
  });

  it('a key tagged', async () => {
    const keyId = await newKey();
    assert.deepEqual((await observer.send(new ListResourceTagsCommand({ KeyId: keyId }))).Tags, []);
    await writer.send(new TagResourceCommand({ KeyId: keyId, Tags: [{ TagKey: 'team', TagValue: 'blue' }] }));
    assert.deepEqual((await observer.send(new ListResourceTagsCommand({ KeyId: keyId }))).Tags, [{ TagKey: 'team', TagValue: 'blue' }]);
  });

  it('an alias moved to another key', async () => {
    const [a, b] = [await newKey(), await newKey()];
    await writer.send(new CreateAliasCommand({ AliasName: 'alias/coherence', TargetKeyId: a }));
    assert.equal((await dataKey(observer, 'alias/coherence')).KeyId?.endsWith(a), true);
    await writer.send(new UpdateAliasCommand({ AliasName: 'alias/coherence', TargetKeyId: b }));
    assert.equal((await dataKey(observer, 'alias/coherence')).KeyId?.endsWith(b), true);
  });
});
