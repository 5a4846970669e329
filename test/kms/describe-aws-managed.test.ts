import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DescribeKeyCommand, KMSClient, ListAliasesCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import { sdkOutcome } from '../helpers/sdk-outcome.js';
import { startTestServer, TEST_REGION, type TestServer } from '../helpers/server.js';
import { at, queryRequest } from '../iam/query-client.js';

// DescribeKey on alias/aws/s3 or alias/aws/ebs creates the AWS managed key when it is not
// there yet (the DescribeKey reference), for a caller allowed kms:DescribeKey only, and once.
describe('KMS DescribeKey of a predefined AWS alias', () => {
  let t: TestServer;
  let root: KMSClient;
  let user: KMSClient | undefined;

  const keyCount = async (): Promise<number> => (await root.send(new ListKeysCommand({}))).Keys?.length ?? 0;
  // The keys a created alias targets; a predefined alias with no key yet is listed without TargetKeyId (none).
  const aliasTargets = async (name: string): Promise<string[]> =>
    ((await root.send(new ListAliasesCommand({}))).Aliases ?? []).filter((a) => a.AliasName === name && a.TargetKeyId !== undefined).map((a) => a.TargetKeyId!);

  before(async () => {
    t = await startTestServer();
    root = t.kms();
  });
  after(async () => {
    user?.destroy();
    await t.close();
  });

  it('a caller not allowed kms:DescribeKey is refused and creates nothing', async () => {
    const iam = async (params: Record<string, string>) => {
      const r = await queryRequest(t.endpoint, 'iam', params, undefined, t.clock.now());
      assert.equal(r.status, 200, r.text);
      return r.xml;
    };
    await iam({ Action: 'CreateUser', UserName: 'nobody' });
    const xml = await iam({ Action: 'CreateAccessKey', UserName: 'nobody' });
    const path = ['CreateAccessKeyResponse', 'CreateAccessKeyResult', 'AccessKey'];
    user = new KMSClient({ endpoint: t.endpoint, region: TEST_REGION, credentials: { accessKeyId: at(xml, ...path, 'AccessKeyId'), secretAccessKey: at(xml, ...path, 'SecretAccessKey') }, maxAttempts: 1 });
    const before = await keyCount();
    assert.equal(await sdkOutcome(user.send(new DescribeKeyCommand({ KeyId: 'alias/aws/s3' }))), '400 AccessDeniedException');
    assert.equal(await keyCount(), before);
    assert.deepEqual(await aliasTargets('alias/aws/s3'), []);
  });

  it('concurrent first DescribeKeys create one key and one alias, and all describe it', async () => {
    const before = await keyCount();
    const described = await Promise.all(Array.from({ length: 6 }, (_, i) => root.send(new DescribeKeyCommand({ KeyId: i % 2 === 0 ? 'alias/aws/ebs' : `arn:aws:kms:${TEST_REGION}:000000000000:alias/aws/ebs` }))));
    const ids = new Set(described.map((d) => d.KeyMetadata?.KeyId));
    assert.equal(ids.size, 1);
    assert.equal(described[0]?.KeyMetadata?.KeyManager, 'AWS');
    assert.equal(await keyCount(), before + 1);
    assert.deepEqual(await aliasTargets('alias/aws/ebs'), [...ids]);
  });
});
