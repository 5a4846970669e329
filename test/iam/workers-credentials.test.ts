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
  /** A user allowed kms:*, an access key of theirs, one client of it pinned to each worker, and a KMS key to use. */
  async function userOnBothWorkers(userName: string): Promise<{ cred: { accessKeyId: string; secretAccessKey: string }; attempt: () => Promise<boolean[]>; names: () => Promise<string[]> }> {
    const keyId = (await root[0]!.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await iam({ Action: 'CreateUser', UserName: userName });
    await iam({ Action: 'PutUserPolicy', UserName: userName, PolicyName: 'p', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] }) });
    const xml = await iam({ Action: 'CreateAccessKey', UserName: userName });
    const k = ['CreateAccessKeyResponse', 'CreateAccessKeyResult', 'AccessKey'];
    const cred = { accessKeyId: at(xml, ...k, 'AccessKeyId'), secretAccessKey: at(xml, ...k, 'SecretAccessKey') };
    const asUser = await clientPerWorker(workers, port, () => pinnedKmsClient(server.endpoint, cred), (c) => c.kms.send(new ListKeysCommand({})));
    clients.push(...asUser);
    /** GenerateDataKey through each worker in turn: 'ALLOWED' or the error's name. */
    const names = async (): Promise<string[]> => {
      const outcomes: string[] = [];
      for (const c of asUser) outcomes.push(await c.kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' })).then(() => 'ALLOWED', (e: Error) => e.name));
      return outcomes;
    };
    return { cred, names, attempt: async () => (await names()).map((o) => o === 'ALLOWED') };
  }

  it('an access key deleted: neither worker accepts it on the next call', async () => {
    const { cred, attempt, names } = await userOnBothWorkers('u1');
    assert.deepEqual(await attempt(), [true, true]);
    await iam({ Action: 'DeleteAccessKey', UserName: 'u1', AccessKeyId: cred.accessKeyId });
    const outcomes = await names();
    assert.deepEqual(outcomes.map((o) => o === 'ALLOWED'), [false, false], outcomes.join(','));
  });

  it('an access key made Inactive, then Active again: each change holds on the next call of both workers', async () => {
    const { cred, attempt } = await userOnBothWorkers('u2');
    assert.deepEqual(await attempt(), [true, true]);
    await iam({ Action: 'UpdateAccessKey', UserName: 'u2', AccessKeyId: cred.accessKeyId, Status: 'Inactive' });
    assert.deepEqual(await attempt(), [false, false], 'Inactive');
    await iam({ Action: 'UpdateAccessKey', UserName: 'u2', AccessKeyId: cred.accessKeyId, Status: 'Active' });
    assert.deepEqual(await attempt(), [true, true], 'Active again');
  });
});
