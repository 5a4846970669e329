import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, KMSClient, ReEncryptCommand } from '@aws-sdk/client-kms';
import { startTestServer, TEST_REGION, type TestServer } from '../helpers/server.js';
import { at, queryRequest, type QueryCredentials } from './query-client.js';

const ACCOUNT = '000000000000';
const plaintext = Buffer.from('secret payload');

describe('KMS authorization: identity policies, key policies, grants, conditions, sessions', () => {
  let t: TestServer;
  const clients: KMSClient[] = [];

  function kmsAs(c: QueryCredentials, clockOffsetMs = 0): KMSClient {
    const client = new KMSClient({ endpoint: t.endpoint, region: TEST_REGION, credentials: c, maxAttempts: 1, systemClockOffset: clockOffsetMs });
    clients.push(client);
    return client;
  }

  async function iam(params: Record<string, string>, c?: QueryCredentials): Promise<Record<string, unknown>> {
    const r = await queryRequest(t.endpoint, params.Action === 'AssumeRole' ? 'sts' : 'iam', params, c, t.clock.now());
    assert.equal(r.status, 200, r.text);
    return r.xml;
  }

  async function newUser(name: string): Promise<QueryCredentials> {
    await iam({ Action: 'CreateUser', UserName: name });
    const xml = await iam({ Action: 'CreateAccessKey', UserName: name });
    const key = ['CreateAccessKeyResponse', 'CreateAccessKeyResult', 'AccessKey'];
    return { accessKeyId: at(xml, ...key, 'AccessKeyId'), secretAccessKey: at(xml, ...key, 'SecretAccessKey') };
  }

  async function newKey(policy?: object): Promise<string> {
    const r = await t.kms().send(new CreateKeyCommand(policy === undefined ? {} : { Policy: JSON.stringify(policy) }));
    return r.KeyMetadata?.KeyId ?? '';
  }

  before(async () => {
    t = await startTestServer({ https: { enabled: true, host: '127.0.0.1', port: 0 } });
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await t.close();
  });

  it('a user with no policy gets AccessDeniedException with AWS message; an identity policy then allows through the default key policy', async () => {
    const alice = await newUser('alice');
    const keyId = await newKey();
    const kms = kmsAs(alice);
    await assert.rejects(kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext })), (err: Error) => {
      assert.equal(err.name, 'AccessDeniedException');
      assert.equal(
        err.message,
        `User: arn:aws:iam::${ACCOUNT}:user/alice is not authorized to perform: kms:Encrypt on resource: arn:aws:kms:${TEST_REGION}:${ACCOUNT}:key/${keyId} because no identity-based policy allows the kms:Encrypt action`,
      );
      return true;
    });
    await iam({ Action: 'PutUserPolicy', UserName: 'alice', PolicyName: 'enc', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*' }] }) });
    const enc = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }));
    assert.ok(enc.CiphertextBlob);
    // Encrypt only: Decrypt stays denied.
    await assert.rejects(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob })), { name: 'AccessDeniedException' });
  });

  it('a key policy with a kms:EncryptionContext:project condition allows only matching contexts', async () => {
    const bob = await newUser('bob');
    const keyId = await newKey({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'bob-project-alpha',
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/bob` },
          Action: ['kms:Encrypt', 'kms:Decrypt'],
          Resource: '*',
          Condition: { StringEquals: { 'kms:EncryptionContext:project': 'alpha' } },
        },
      ],
    });
    const kms = kmsAs(bob);
    const enc = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext, EncryptionContext: { project: 'alpha' } }));
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { project: 'alpha' } }));
    assert.equal(Buffer.from(dec.Plaintext ?? []).toString(), plaintext.toString());
    await assert.rejects(kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext, EncryptionContext: { project: 'beta' } })), { name: 'AccessDeniedException' });
    await assert.rejects(kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext })), { name: 'AccessDeniedException' });
  });

  it('a Deny on aws:SecureTransport=false refuses plain HTTP, even for the account root, and allows HTTPS', async () => {
    const keyId = await newKey({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'root', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
        { Sid: 'tls-only', Effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
      ],
    });
    await assert.rejects(t.kms().send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext })), (err: Error) => {
      assert.equal(err.name, 'AccessDeniedException');
      assert.match(err.message, /with an explicit deny in a resource-based policy$/);
      return true;
    });
    assert.ok(t.httpsEndpoint !== undefined);
    const caPem = readFileSync(join(t.dataDir, 'tls', 'ca', 'ca.crt'), 'utf8');
    const enc = await t.kmsAt(t.httpsEndpoint, caPem).send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }));
    assert.ok(enc.CiphertextBlob);
  });

  it('ReEncrypt needs kms:ReEncryptFrom on the source key and kms:ReEncryptTo on the destination', async () => {
    const erin = await newUser('erin');
    const source = await newKey();
    const destination = await newKey();
    const blob = (await t.kms().send(new EncryptCommand({ KeyId: source, Plaintext: plaintext }))).CiphertextBlob;
    const allow = (actions: Array<[string, string]>): Promise<unknown> =>
      iam({
        Action: 'PutUserPolicy', UserName: 'erin', PolicyName: 're',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: actions.map(([Action, key]) => ({ Effect: 'Allow', Action, Resource: `arn:aws:kms:${TEST_REGION}:${ACCOUNT}:key/${key}` })) }),
      });
    const kms = kmsAs(erin);
    const reEncrypt = (): Promise<unknown> => kms.send(new ReEncryptCommand({ CiphertextBlob: blob, DestinationKeyId: destination }));
    await allow([['kms:ReEncryptTo', destination]]);
    await assert.rejects(reEncrypt(), (err: Error) => {
      assert.equal(err.name, 'AccessDeniedException');
      assert.match(err.message, new RegExp(`kms:ReEncryptFrom on resource: arn:aws:kms:${TEST_REGION}:${ACCOUNT}:key/${source} `));
      return true;
    });
    await allow([['kms:ReEncryptFrom', source]]);
    await assert.rejects(reEncrypt(), /kms:ReEncryptTo/);
    await allow([['kms:ReEncryptFrom', source], ['kms:ReEncryptTo', destination]]);
    const out = (await reEncrypt()) as { KeyId?: string };
    assert.equal(out.KeyId, `arn:aws:kms:${TEST_REGION}:${ACCOUNT}:key/${destination}`);
  });

  it('a grant lets its grantee Decrypt, within its encryption-context constraint only', async () => {
    const carol = await newUser('carol');
    const keyId = await newKey();
    const root = t.kms();
    const inScope = await root.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext, EncryptionContext: { purpose: 'backup' } }));
    const outOfScope = await root.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext, EncryptionContext: { purpose: 'other' } }));
    const kms = kmsAs(carol);
    await assert.rejects(kms.send(new DecryptCommand({ CiphertextBlob: inScope.CiphertextBlob, EncryptionContext: { purpose: 'backup' } })), { name: 'AccessDeniedException' });
    // No CreateGrant API yet: the grant is written through the key store, as CreateGrant would.
    await t.server.keys.deps.store.createGrant({
      grantId: 'g-1',
      keyId,
      granteePrincipal: `arn:aws:iam::${ACCOUNT}:user/carol`,
      issuingAccount: `arn:aws:iam::${ACCOUNT}:root`,
      operations: ['Decrypt'],
      constraints: { encryptionContextSubset: { purpose: 'backup' } },
      createdAt: t.clock.now(),
      tokenHash: 'unused',
    });
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: inScope.CiphertextBlob, EncryptionContext: { purpose: 'backup' } }));
    assert.equal(Buffer.from(dec.Plaintext ?? []).toString(), plaintext.toString());
    await assert.rejects(kms.send(new DecryptCommand({ CiphertextBlob: outOfScope.CiphertextBlob, EncryptionContext: { purpose: 'other' } })), { name: 'AccessDeniedException' });
    await assert.rejects(kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext })), { name: 'AccessDeniedException' });
  });

  it("an assumed role's temporary credentials work until they expire, then ExpiredTokenException", async () => {
    const dave = await newUser('dave');
    const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/dave` }, Action: 'sts:AssumeRole' }] };
    await iam({ Action: 'CreateRole', RoleName: 'encryptor', AssumeRolePolicyDocument: JSON.stringify(trust) });
    await iam({ Action: 'PutRolePolicy', RoleName: 'encryptor', PolicyName: 'enc', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*' }] }) });
    const xml = await iam({ Action: 'AssumeRole', RoleArn: `arn:aws:iam::${ACCOUNT}:role/encryptor`, RoleSessionName: 'job', DurationSeconds: '900' }, dave);
    const c = ['AssumeRoleResponse', 'AssumeRoleResult', 'Credentials'];
    const session = { accessKeyId: at(xml, ...c, 'AccessKeyId'), secretAccessKey: at(xml, ...c, 'SecretAccessKey'), sessionToken: at(xml, ...c, 'SessionToken') };
    const keyId = await newKey();
    await kmsAs(session).send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }));
    // dave himself has no KMS permission: the role's policy is what allowed it.
    await assert.rejects(kmsAs(dave).send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext })), { name: 'AccessDeniedException' });
    t.clock.advance(901_000);
    await assert.rejects(kmsAs(session, 901_000).send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext })), { name: 'ExpiredTokenException' });
  });
});
