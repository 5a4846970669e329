import { describe, it } from 'node:test';
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
} from '@aws-sdk/client-kms';
import { KeyNotFoundError } from '../../src/kms/key-store.js';
import { runKeyMaintenance } from '../../src/kms/index.js';
import { testServerFixture } from '../helpers/server.js';

const DAY_MS = 86_400_000;

describe('KMS scheduled key deletion', () => {
  const fx = testServerFixture();
  // Moves the server's clock and tells the SDK clients (they sign with their own clock) the new offset.
  const advance = (ms: number) => fx.server.advance(ms);

  it('destroys the key, its aliases and grants once the window has passed', async () => {
    const { KeyMetadata: key } = await fx.kms.send(new CreateKeyCommand({}));
    await fx.kms.send(new CreateAliasCommand({ AliasName: 'alias/doomed', TargetKeyId: key!.KeyId }));
    await fx.kms.send(new CreateGrantCommand({ KeyId: key!.KeyId, GranteePrincipal: 'arn:aws:iam::000000000000:role/r', Operations: ['Decrypt'] }));
    const enc = await fx.kms.send(new EncryptCommand({ KeyId: key!.KeyId, Plaintext: Buffer.from('secret') }));
    await fx.kms.send(new ScheduleKeyDeletionCommand({ KeyId: key!.KeyId, PendingWindowInDays: 7 }));
    advance(7 * DAY_MS - 1000);
    const pending = await fx.kms.send(new DescribeKeyCommand({ KeyId: key!.KeyId }));
    assert.equal(pending.KeyMetadata?.KeyState, 'PendingDeletion');
    advance(1000 + 1000);
    await assert.rejects(fx.kms.send(new DescribeKeyCommand({ KeyId: key!.KeyId })), { name: 'NotFoundException' });
    await assert.rejects(fx.kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob })), { name: 'InvalidCiphertextException' });
    await assert.rejects(fx.kms.send(new DescribeKeyCommand({ KeyId: 'alias/doomed' })), { name: 'NotFoundException' });
    const aliases = await fx.kms.send(new ListAliasesCommand({}));
    assert.ok(!aliases.Aliases?.some((a) => a.AliasName === 'alias/doomed'));
    assert.equal((await fx.server.server.keys.deps.store.listGrants(10, undefined, { keyId: key!.KeyId! })).items.length, 0);
  });

  it('the maintenance sweep destroys due keys that nobody touches', async () => {
    const { KeyMetadata: key } = await fx.kms.send(new CreateKeyCommand({}));
    const { KeyMetadata: kept } = await fx.kms.send(new CreateKeyCommand({}));
    await fx.kms.send(new CreateAliasCommand({ AliasName: 'alias/swept', TargetKeyId: key!.KeyId }));
    await fx.kms.send(new ScheduleKeyDeletionCommand({ KeyId: key!.KeyId, PendingWindowInDays: 30 }));
    advance(30 * DAY_MS + 1000);
    const destroyed = await runKeyMaintenance(fx.server.server.keys);
    assert.ok(destroyed >= 1);
    await assert.rejects(fx.server.server.keys.deps.store.getKey(key!.KeyId!), KeyNotFoundError);
    assert.equal(await fx.server.server.keys.deps.store.getAlias('alias/swept'), undefined);
    assert.equal((await fx.server.server.keys.deps.store.getKey(kept!.KeyId!)).keyId, kept!.KeyId);
  });
});
