import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  ListAliasesCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { KeyNotFoundError } from '../../src/kms/key-store.js';
import { runKeyMaintenance } from '../../src/kms/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const DAY_MS = 86_400_000;

describe('KMS scheduled key deletion', () => {
  let t: TestServer;
  let kms: KMSClient;
  // Moves the server's clock and tells the SDK clients (they sign with their own clock) the new offset.
  const advance = (ms: number) => t.advance(ms);
  before(async () => {
    t = await startTestServer();
    kms = t.kms();
  });
  after(async () => {
    await t.close();
  });

  it('destroys the key, its aliases and grants once the window has passed', async () => {
    const { KeyMetadata: key } = await kms.send(new CreateKeyCommand({}));
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/doomed', TargetKeyId: key!.KeyId }));
    await kms.send(new CreateGrantCommand({ KeyId: key!.KeyId, GranteePrincipal: 'arn:aws:iam::000000000000:role/r', Operations: ['Decrypt'] }));
    const enc = await kms.send(new EncryptCommand({ KeyId: key!.KeyId, Plaintext: Buffer.from('secret') }));
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key!.KeyId, PendingWindowInDays: 7 }));
    advance(7 * DAY_MS - 1000);
    const pending = await kms.send(new DescribeKeyCommand({ KeyId: key!.KeyId }));
    assert.equal(pending.KeyMetadata?.KeyState, 'PendingDeletion');
    advance(1000 + 1000);
    await assert.rejects(kms.send(new DescribeKeyCommand({ KeyId: key!.KeyId })), { name: 'NotFoundException' });
    await assert.rejects(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob })), { name: 'InvalidCiphertextException' });
    await assert.rejects(kms.send(new DescribeKeyCommand({ KeyId: 'alias/doomed' })), { name: 'NotFoundException' });
    const aliases = await kms.send(new ListAliasesCommand({}));
    assert.ok(!aliases.Aliases?.some((a) => a.AliasName === 'alias/doomed'));
    assert.equal((await t.server.keys.deps.store.listGrants(10, undefined, { keyId: key!.KeyId! })).items.length, 0);
  });

  it('the maintenance sweep destroys due keys that nobody touches', async () => {
    const { KeyMetadata: key } = await kms.send(new CreateKeyCommand({}));
    const { KeyMetadata: kept } = await kms.send(new CreateKeyCommand({}));
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/swept', TargetKeyId: key!.KeyId }));
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key!.KeyId, PendingWindowInDays: 30 }));
    advance(30 * DAY_MS + 1000);
    const destroyed = await runKeyMaintenance(t.server.keys);
    assert.ok(destroyed >= 1);
    await assert.rejects(t.server.keys.deps.store.getKey(key!.KeyId!), KeyNotFoundError);
    assert.equal(await t.server.keys.deps.store.getAlias('alias/swept'), undefined);
    assert.equal((await t.server.keys.deps.store.getKey(kept!.KeyId!)).keyId, kept!.KeyId);
  });
});
