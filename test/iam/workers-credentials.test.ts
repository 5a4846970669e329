import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CreateKeyCommand, GenerateDataKeyCommand, ListKeysCommand, type KMSClient } from '@aws-sdk/client-kms';
import { clusterWorkers, serverFixture, type ServerProcess } from '../helpers/server-process.js';
import { clientPerWorker, pinnedKmsClient, type PinnedKmsClient } from '../helpers/cluster-connections.js';
import { at, queryRequest } from './query-client.js';

describe('IAM credentials with --workers 2: a change through one worker holds on the next request of every worker', () => {
  const fixture = serverFixture('iam-workers-credentials-');
  let server: ServerProcess;
  const clients: PinnedKmsClient[] = [];
  let root: KMSClient[] = [];
  let workers: number[] = [];
  let port = 0;
  before(async () => {
    server = await fixture.spawn({ dataDir: join(fixture.dir(), 'data'), args: ['--workers', '2'], timeoutMs: 30_000 });
    workers = clusterWorkers(server.child.pid!);
    port = Number(new URL(server.endpoint).port);
    const pinned = await clientPerWorker(workers, port, () => pinnedKmsClient(server.endpoint), (c) => c.kms.send(new ListKeysCommand({})));
    clients.push(...pinned);
    root = pinned.map((c) => c.kms);
  });
  after(() => { for (const c of clients) c.destroy(); });
  async function iam(params: Record<string, string>): Promise<Record<string, unknown>> {
    const r = await queryRequest(server.endpoint, 'iam', params);
    assert.equal(r.status, 200, r.text);
    return r.xml;
  }
  it('an access key deleted: neither worker accepts it on the next call', async () => {
    const keyId = (await root[0]!.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await iam({ Action: 'CreateUser', UserName: 'u1' });
    await iam({ Action: 'PutUserPolicy', UserName: 'u1', PolicyName: 'p', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] }) });
    const xml = await iam({ Action: 'CreateAccessKey', UserName: 'u1' });
    const k = ['CreateAccessKeyResponse', 'CreateAccessKeyResult', 'AccessKey'];
    const cred = { accessKeyId: at(xml, ...k, 'AccessKeyId'), secretAccessKey: at(xml, ...k, 'SecretAccessKey') };
    const asUser = await clientPerWorker(workers, port, () => pinnedKmsClient(server.endpoint, cred), (c) => c.kms.send(new ListKeysCommand({})));
    clients.push(...asUser);
    for (const c of asUser) await c.kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
    await iam({ Action: 'DeleteAccessKey', UserName: 'u1', AccessKeyId: cred.accessKeyId });
    const outcomes: string[] = [];
    for (const c of asUser) outcomes.push(await c.kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' })).then(() => 'ALLOWED', (e: Error) => e.name));
    assert.deepEqual(outcomes.map((o) => o === 'ALLOWED'), [false, false], outcomes.join(','));
  });

  it('an access key made Inactive, then Active again: each change holds on the next call of both workers', async () => {
    const keyId = (await root[0]!.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await iam({ Action: 'CreateUser', UserName: 'u2' });
    await iam({ Action: 'PutUserPolicy', UserName: 'u2', PolicyName: 'p', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] }) });
    const xml = await iam({ Action: 'CreateAccessKey', UserName: 'u2' });
    const k = ['CreateAccessKeyResponse', 'CreateAccessKeyResult', 'AccessKey'];
    const cred = { accessKeyId: at(xml, ...k, 'AccessKeyId'), secretAccessKey: at(xml, ...k, 'SecretAccessKey') };
    const asUser = await clientPerWorker(workers, port, () => pinnedKmsClient(server.endpoint, cred), (c) => c.kms.send(new ListKeysCommand({})));
    clients.push(...asUser);
    const attempt = async (): Promise<boolean[]> => {
      const allowed: boolean[] = [];
      for (const c of asUser) allowed.push(await c.kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' })).then(() => true, () => false));
      return allowed;
    };
    assert.deepEqual(await attempt(), [true, true]);
    await iam({ Action: 'UpdateAccessKey', UserName: 'u2', AccessKeyId: cred.accessKeyId, Status: 'Inactive' });
    assert.deepEqual(await attempt(), [false, false], 'Inactive');
    await iam({ Action: 'UpdateAccessKey', UserName: 'u2', AccessKeyId: cred.accessKeyId, Status: 'Active' });
    assert.deepEqual(await attempt(), [true, true], 'Active again');
  });
});
