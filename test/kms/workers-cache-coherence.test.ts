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
  ListKeysCommand,
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
import { clientPerWorker, pinnedKmsClient, type PinnedKmsClient } from '../helpers/cluster-connections.js';
import { at, queryRequest } from '../iam/query-client.js';

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
  /** The IAM user's clients, one served by each worker. */
  let userClients: KMSClient[] = [];

  before(async () => {
    server = await fixture.spawn({ dataDir: join(fixture.dir(), 'data'), args: ['--workers', '2'], timeoutMs: 30_000 });
    const workers = clusterWorkers(server.child.pid!);
    assert.equal(workers.length, 2, `two workers: ${workers.join(',')}`);
    const serverPort = Number(new URL(server.endpoint).port);
    // The primary hands new connections to the workers in turn: some land on each.
    const pinned = await clientPerWorker(workers, serverPort, () => pinnedKmsClient(server.endpoint), (c) => c.kms.send(new ListKeysCommand({})));
    clients.push(...pinned);
    [writer, observer] = pinned.map((c) => c.kms) as [KMSClient, KMSClient];
    // An IAM user, with a client of its own on each worker.
    await iam({ Action: 'CreateUser', UserName: 'coherence' });
    const xml = await iam({ Action: 'CreateAccessKey', UserName: 'coherence' });
    const key = ['CreateAccessKeyResponse', 'CreateAccessKeyResult', 'AccessKey'];
    const user = { accessKeyId: at(xml, ...key, 'AccessKeyId'), secretAccessKey: at(xml, ...key, 'SecretAccessKey') };
    const asUser = await clientPerWorker(workers, serverPort, () => pinnedKmsClient(server.endpoint, user), (c) => c.kms.send(new ListKeysCommand({})).catch(() => undefined));
    clients.push(...asUser);
    userClients = asUser.map((c) => c.kms);
  });

  async function iam(params: Record<string, string>): Promise<Record<string, unknown>> {
    const r = await queryRequest(server.endpoint, 'iam', params);
    assert.equal(r.status, 200, r.text);
    return r.xml;
  }

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

  it("an IAM user's identity policy removed: neither worker allows the next call", async () => {
    const keyId = await newKey();
    const allow = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:GenerateDataKey', Resource: '*' }] };
    await iam({ Action: 'PutUserPolicy', UserName: 'coherence', PolicyName: 'data-keys', PolicyDocument: JSON.stringify(allow) });
    // Each worker reads (and keeps) the user's policies; the change below is made through
    // one of them (whichever serves it), so the other sees it only through the store.
    for (const c of userClients) await dataKey(c, keyId);
    await iam({ Action: 'DeleteUserPolicy', UserName: 'coherence', PolicyName: 'data-keys' });
    for (const c of userClients) await assert.rejects(dataKey(c, keyId), { name: 'AccessDeniedException' });
  });
});
